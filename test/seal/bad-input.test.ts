import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../helpers/cli.js';
import { repoRoot } from '../../src/paths.js';
import { makeKeys } from './fixture.js';

function dir(t: { after(f: () => void): void }): string {
  const d = mkdtempSync(join(tmpdir(), 'ar-bad-'));
  t.after(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

test('bad input is bounded: a FIFO or oversized config, a 50 MB seal.origin, verify on a device or a 20 MiB line: one line each, never a hang', (t) => {
  const d = dir(t);
  const fifo = join(d, 'cfg.fifo');
  execFileSync('mkfifo', [fifo]);
  const f = runCli(['run', '--config', fifo, '--raw', '--comm', 'x', '--duration', '1'], { timeoutMs: 20_000 });
  assert.equal(f.status, 2);
  assert.match(f.stderr.trim(), /^agentrail run: CONFIG_NOT_A_FILE: config file .* is not a regular file$/);

  const big = join(d, 'big.yaml');
  writeFileSync(big, `# ${'x'.repeat(2 << 20)}\n`);
  assert.match(runCli(['run', '--config', big, '--raw', '--comm', 'x']).stderr, /CONFIG_TOO_LARGE/);

  const origin = join(d, 'origin.yaml');
  writeFileSync(origin, `seal:\n  origin: ${'o'.repeat(300)}\n`);
  const o = runCli(['run', '--config', origin, '--raw', '--comm', 'x']);
  assert.equal(o.status, 2);
  assert.match(o.stderr, /CONFIG_INVALID: invalid configuration at seal\.origin/);

  const keys = makeKeys();
  const dev = runCli(['verify', '/dev/zero', '--keys', keys.keyring], { timeoutMs: 20_000 });
  assert.equal(dev.status, 1);
  assert.match(dev.stderr.trim(), /^agentrail verify: IO_READ: cannot read \/dev\/zero: ENOTREGULAR$/);

  const huge = join(d, 'huge.jsonl');
  writeFileSync(huge, '{"a":"' + 'z'.repeat(20 << 20) + '"}\n');
  const h = runCli(['verify', huge, '--keys', keys.keyring, '--json'], { timeoutMs: 60_000 });
  assert.equal(h.status, 10, h.stderr);
  const rep = JSON.parse(h.stdout) as { failure: { reason: string; index: number } };
  assert.equal(rep.failure.reason, 'NOT_JSON');
  assert.equal(rep.failure.index, 0);
});

test('export --out never replaces a device and writes through a symlink', async (t) => {
  const d = dir(t);
  const { buildLog } = await import('./fixture.js');
  const { lstatSync, readFileSync, statSync, symlinkSync, writeFileSync: wf } = await import('node:fs');
  const keys = makeKeys();
  const log = await buildLog(10, keys);
  const dev = runCli(['export', log, '--out', '/dev/full']);
  assert.notEqual(dev.status, 0);
  assert.match(dev.stderr.trim(), /^agentrail export: EXPORT_OUT: --out \/dev\/full is not a regular file/);
  assert.ok(statSync('/dev/full').isCharacterDevice(), '/dev/full is still the device');
  const real = join(d, 'real.jsonl');
  wf(real, 'old\n');
  const link = join(d, 'link.jsonl');
  symlinkSync(real, link);
  const ok = runCli(['export', log, '--out', link]);
  assert.equal(ok.status, 0, ok.stderr);
  assert.ok(lstatSync(link).isSymbolicLink(), 'the link is kept');
  const lines = readFileSync(real, 'utf8').trim().split('\n');
  assert.ok(lines.length >= 10 && lines.every((l) => l.startsWith('{')), 'the export went to the link target');
  const fifoDir = join(d, 'a-dir');
  (await import('node:fs')).mkdirSync(fifoDir);
  assert.notEqual(runCli(['export', log, '--out', fifoDir]).status, 0, 'a directory is refused');
});

test('a replay whose records are all garbage exits non-zero with one clear line (not 0 with an empty log); a good capture still exits 0', async (t) => {
  const d = dir(t);
  const { encodeBlock, encodeFileHeader } = await import('../../src/source/capture-file.js');
  const { AR_ABI_VERSION } = await import('../../src/native/abi.js');
  // Well-framed records of an op that does not exist, then bytes that frame nothing.
  const recs = Buffer.alloc(10 * 64);
  for (let i = 0; i < 10; i++) {
    recs.writeUInt16LE(0xfffe, i * 64);
    recs.writeUInt16LE(AR_ABI_VERSION, i * 64 + 2);
    recs.writeUInt32LE(64, i * 64 + 4);
  }
  const capture = join(d, 'garbage.arcap');
  writeFileSync(capture, Buffer.concat([encodeFileHeader({ host: 'h', createdUnixNs: 1n, createdKtimeNs: 1n }), encodeBlock(recs), encodeBlock(Buffer.alloc(40, 0xab))]));
  const cfg = join(d, 'c.yaml');
  writeFileSync(cfg, `observability:\n  httpEnabled: false\nseal:\n  keyDir: ${join(d, 'keys')}\n`);
  const r = runCli(['run', '--replay', capture, '--log-dir', join(d, 'log'), '--config', cfg], { timeoutMs: 60_000 });
  assert.equal(r.status, 1, r.stderr);
  const errLines = r.stderr.trim().split('\n').filter((l) => l.includes('REPLAY_NO_VALID_RECORDS'));
  assert.equal(errLines.length, 1, r.stderr);
  assert.match(errLines[0]!, /^agentrail run: REPLAY_NO_VALID_RECORDS: replay .*garbage\.arcap: none of its 10 framed record\(s\) \(680 bytes\) could be decoded/);
  const good = runCli(['run', '--replay', join(repoRoot, 'test', 'fixtures', 'captures', 'node-mcp.arcap'), '--log-dir', join(d, 'log2'), '--config', cfg], { timeoutMs: 60_000 });
  assert.equal(good.status, 0, good.stderr);
});

test('an all-garbage log directory: export, tail and investigate exit 1 with one LOG_NOT_EVENTS line, verify fails NOT_JSON (exit 10)', (t) => {
  const d = dir(t);
  const log = join(d, 'log');
  mkdirSync(join(log, 'segments'), { recursive: true });
  writeFileSync(join(log, 'segments', '00000000000000000001.jsonl'), `${randomBytes(2000).toString('base64')}\n{"not":"an event"}\n`);
  for (const args of [['export', log, '--out', join(d, 'out.jsonl')], ['tail', log], ['investigate', log, '--artifact', join(log, 'segments', '00000000000000000001.jsonl')]]) {
    const r = runCli(args, { timeoutMs: 30_000 });
    assert.equal(r.status, 1, `${args[0]}: ${r.stderr}`);
    const name = args[0]!;
    assert.match(r.stderr.trim(), new RegExp(`^agentrail ${name}: LOG_NOT_EVENTS: .*the line at 00000000000000000001\\.jsonl byte 0 is not a sealed event`), name);
    assert.equal(r.stderr.trim().split('\n').length, 1, `${args[0]}: one line`);
  }
  const keys = makeKeys();
  const v = runCli(['verify', log, '--keys', keys.keyring]);
  assert.equal(v.status, 10);
  assert.match(v.stdout, /^FAIL NOT_JSON at index 0/);
});
