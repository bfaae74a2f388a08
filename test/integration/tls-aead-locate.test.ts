/**
 * Stripped aws-lc discovery (native/src/aead_locator.cc) on the real Codex
 * executable: EVP_AEAD_CTX_seal, _seal_scatter and _open found without symbols,
 * checked against binutils' objdump (another disassembler: the function at
 * each offset raises ERR_LIB_CIPHER errors from …/cipher/aead.c with the
 * reason that tells seal from open), cached per build, re-validated against
 * the file, and a file whose seal entry no longer reads its arguments is
 * rejected ("validation-failed") rather than probed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, copyFileSync, mkdtempSync, openSync, realpathSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireTool } from '../helpers/privileges.js';
import { agentVersions } from '../helpers/agent-bins.js';
import { loadAddon } from '../../src/native/addon.js';
import { repoRoot } from '../../src/paths.js';

const CIPHER_R_BAD_DECRYPT = 101;
const CIPHER_R_INVALID_OPERATION = 112;
const CIPHER_R_TOO_LARGE = 117;

function codexNative(): string | undefined {
  const v = agentVersions('codex')[0];
  if (!v) return undefined;
  const p = join(repoRoot, '.cache', 'agents', `@openai+codex@${v}`, 'node_modules', '@openai', 'codex-linux-x64', 'vendor', 'x86_64-unknown-linux-musl', 'bin', 'codex');
  try {
    return realpathSync(p);
  } catch {
    return undefined;
  }
}

/** objdump's view of the code at file offset `off`: the reason codes put in edx and the string addresses lea'd. */
function disasm(bin: string, off: number) {
  const m = /\.text\s+PROGBITS\s+([0-9a-f]+)\s+([0-9a-f]+)/.exec(execFileSync('readelf', ['-SW', bin], { encoding: 'utf8' }))!;
  const va = off - Number.parseInt(m[2]!, 16) + Number.parseInt(m[1]!, 16);
  const out = execFileSync('objdump', ['-d', '--no-show-raw-insn', `--start-address=0x${va.toString(16)}`, `--stop-address=0x${(va + 0x200).toString(16)}`, bin], { encoding: 'utf8', maxBuffer: 16 << 20 });
  return {
    reasons: new Set([...out.matchAll(/mov\s+\$0x([0-9a-f]+),%edx/g)].map((x) => Number.parseInt(x[1]!, 16))),
    libCipher: /mov\s+\$0x1e,%edi/.test(out),
    strings: new Set([...out.matchAll(/lea\s+\S+\(%rip\),%r\w+\s+# 0x([0-9a-f]+)/g)].map((x) => Number.parseInt(x[1]!, 16))),
  };
}

test('aws-lc in stripped Codex: seal/open located, confirmed by objdump, cached, re-validated; an altered entry is rejected', { timeout: 120_000 }, async (t) => {
  const bin = codexNative();
  if (!requireTool(t, bin !== undefined, 'the Codex CLI (.ci/setup.d/60-agents.sh)')) return;
  const hasBinutils = spawnSync('objdump', ['--version']).status === 0 && spawnSync('readelf', ['--version']).status === 0;
  if (!requireTool(t, hasBinutils, 'binutils (objdump, readelf)')) return;
  const work = mkdtempSync(join(tmpdir(), 'agentrail-aead-locate-'));
  process.env.AGENTRAIL_TLS_CACHE_DIR = join(work, 'cache');
  t.after(() => {
    delete process.env.AGENTRAIL_TLS_CACHE_DIR;
    rmSync(work, { recursive: true, force: true });
  });
  const { locateAead } = loadAddon();
  const first = locateAead(bin!);
  assert.equal(first.found, true, first.why);
  assert.equal(first.cacheHit, false);
  assert.notEqual(first.seal, first.open);
  // The aead.c path string, found by strings(1)-like search of the file (rodata: offset = address here).
  const aeadStr = Number.parseInt(/^\s*([0-9a-f]+) \S*\/cipher\/aead\.c$/m.exec(execFileSync('strings', ['-t', 'x', bin!], { encoding: 'utf8', maxBuffer: 1 << 30 }))![1]!, 16);
  const seal = disasm(bin!, first.seal);
  const open = disasm(bin!, first.open);
  assert.ok(first.sealScatter > first.seal && first.sealScatter < first.open, 'seal_scatter (TLS 1.2) located between them');
  const scatter = disasm(bin!, first.sealScatter);
  assert.ok(scatter.reasons.has(CIPHER_R_INVALID_OPERATION) && !scatter.reasons.has(CIPHER_R_TOO_LARGE), `seal_scatter reasons ${[...scatter.reasons]}`);
  for (const f of [seal, open, scatter]) {
    assert.ok(f.libCipher, 'ERR_LIB_CIPHER loaded into edi');
    assert.ok(f.strings.has(aeadStr), 'the function references …/cipher/aead.c');
  }
  assert.ok(seal.reasons.has(CIPHER_R_TOO_LARGE) && !seal.reasons.has(CIPHER_R_BAD_DECRYPT), `seal reasons ${[...seal.reasons]}`);
  assert.ok(open.reasons.has(CIPHER_R_BAD_DECRYPT), `open reasons ${[...open.reasons]}`);

  const again = locateAead(bin!);
  assert.equal(again.cacheHit, true, 'second lookup served from the cache');
  assert.deepEqual({ ...again, ms: 0 }, { ...first, cacheHit: true, ms: 0 });

  // A copy whose seal entry returns at once (ret + int3): same cache key (head, tail and size
  // unchanged), but the cached entry fails re-validation and a fresh locate rejects the function.
  const altered = join(work, 'codex-altered');
  copyFileSync(bin!, altered);
  const fd = openSync(altered, 'r+');
  writeSync(fd, Buffer.from([0xc3, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc]), 0, 8, first.seal);
  closeSync(fd);
  const rejected = locateAead(altered);
  assert.equal(rejected.buildId, first.buildId, 'same cache key');
  assert.equal(rejected.cacheHit, false, 'the cached entry failed re-validation');
  assert.equal(rejected.found, false);
  assert.equal(rejected.why, 'validation-failed');
  assert.equal(locateAead(altered).cacheHit, true, 'negative results are cached too');

  // A file without aws-lc is not a candidate.
  assert.equal(locateAead('/bin/sh').why, 'no-aead-string');
});
