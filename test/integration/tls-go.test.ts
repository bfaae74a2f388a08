/**
 * Go crypto/tls (native/src/go_locator.cc, bpf/tls.bpf.c handle_go_tls_*):
 * a Go net/http client (test/fixtures/go-llm-client, standard library only,
 * built here with the machine's Go), plain and stripped with -ldflags="-s -w",
 * makes an OpenAI-style chat completion call to the local HTTPS mock (HTTP/2
 * by ALPN, and HTTP/1.1 with GODEBUG=http2client=0; JSON and SSE) under
 * `agentrail run`, which attaches the binary while its launcher is stopped, so
 * the probes are live from main()'s first instruction. The trail must hold a model.invocation with the model id
 * sent, the mock's token counts as the program received them, output_hash =
 * sha256 of the text the program printed, the egress data.access with
 * network.plaintext full, and neither the API key nor the prompt text.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { expectedContentHash } from '../helpers/expected-hash.js';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireKernel, requireTool } from '../helpers/privileges.js';
import { allLogText } from '../helpers/log-text.js';
import { runCliAsync } from '../helpers/cli.js';
import { makeTestCa, removeTestCa, type TestCa } from '../helpers/tls-server.js';
import { startMockServer, type MockServer } from '../helpers/llm-mock-server.js';
import { loadAddon } from '../../src/native/addon.js';
import type { TlsData } from '../../src/contracts/raw-event.js';
import { startCollectingSensor } from '../helpers/sensor-events.js';
import { buildGoFixture, goAvailable, GO_TOOLCHAINS } from '../helpers/go-build.js';

const finalText = 'Go reached the mock over crypto/tls; the answer has nine words.';
interface Ev { type: string; data: Record<string, any> }
interface Printed { model: string; proto: string; status: number; text: string; prompt_tokens: number; completion_tokens: number; probe_at_start: boolean }

interface Ctx { work: string; ca: TestCa; mock: MockServer; plain: string; stripped: string; stripped119: string }

async function setup(t: TestContext): Promise<Ctx> {
  const work = mkdtempSync(join(tmpdir(), 'agentrail-gotls-'));
  const ca = makeTestCa(['localhost']);
  const mock = await startMockServer({ cert: ca.certPath, key: ca.keyPath, script: { finalText } });
  t.after(async () => {
    await mock.close();
    removeTestCa(ca);
    rmSync(work, { recursive: true, force: true });
  });
  return {
    work, ca, mock,
    plain: buildGoFixture('go-llm-client', join(work, 'go-llm-client')),
    stripped: buildGoFixture('go-llm-client', join(work, 'go-llm-client-stripped'), { stripped: true }),
    stripped119: buildGoFixture('go-llm-client', join(work, 'go-llm-client-119-stripped'), { stripped: true, toolchain: 'go1.19' }),
  };
}

/** One call (plus `parallel` concurrent ones on the same connection) under `agentrail run`, then the checks on the trail. */
async function runAndCheck(t: TestContext, c: Ctx, bin: string, opts: { name: string; stream: boolean; http1?: boolean; parallel?: number }) {
  const tag = randomBytes(6).toString('hex');
  const apiKey = `sk-gotls-${tag}-canary`;
  const prompt = `Say something about Go. CANARYPROMPT${tag}`;
  const model = `gpt-go-${opts.name}`;
  const dir = join(c.work, opts.name);
  const cfg = join(c.work, `${opts.name}.yaml`);
  // The build-id cache in the work dir: the locate runs here, not from another test's cache.
  writeFileSync(cfg, `observability:\n  httpPort: 0\nseal:\n  keyDir: ${join(c.work, 'keys')}\n`);
  const env = {
    ...process.env,
    SSL_CERT_FILE: c.ca.caPath,
    OPENAI_API_KEY: apiKey,
    AGENTRAIL_TLS_CACHE_DIR: join(c.work, 'cache'),
    ...(opts.http1 ? { GODEBUG: 'http2client=0' } : {}),
    ...(opts.parallel ? { GO_LLM_PARALLEL: String(opts.parallel) } : {}),
  };
  const args = [bin, `https://localhost:${c.mock.port}`, model, prompt, ...(opts.stream ? ['stream'] : [])];
  const r = await runCliAsync(['run', '--log-dir', join(dir, 'log'), '--config', cfg, '--', ...args], { env });
  assert.equal(r.status, 0, r.stderr.slice(-3000));
  const calls = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Printed);
  assert.equal(calls.length, 1 + (opts.parallel ?? 0), r.stdout);
  const printed = calls[0]!;
  t.diagnostic(`${opts.name}: ${calls.length} call(s), ${printed.proto} ${printed.status}, ${calls.map((x) => `${x.prompt_tokens}+${x.completion_tokens}`).join(' ')} tokens`);
  // agentrail run attached the binary while its launcher was stopped, before the exec: no race.
  assert.equal(printed.probe_at_start, true, 'the uprobe on crypto/tls.(*Conn).Write was live when main() began');
  assert.ok(Number(/"observer\.tls_preattached_files":(\d+)/.exec(r.stderr)?.[1] ?? 0) >= 1, 'attached from the stopped launcher');
  assert.match(r.stderr, /"observer\.tls_go_attached":1[,}]/, 'one Go binary attached');
  for (const x of calls) {
    assert.equal(x.status, 200);
    assert.equal(x.proto, opts.http1 ? 'HTTP/1.1' : 'HTTP/2.0');
    assert.equal(x.text, finalText, 'the client received the answer');
    assert.ok(x.prompt_tokens > 0 && x.completion_tokens > 0);
  }

  const events = readdirSync(join(dir, 'log', 'segments'))
    .flatMap((f) => readFileSync(join(dir, 'log', 'segments', f), 'utf8').trim().split('\n'))
    .map((l) => JSON.parse(l) as Ev);
  const models = events.filter((e) => e.type === 'dev.agentrail.model.invocation');
  assert.equal(models.length, calls.length, `one model.invocation per call (got ${models.length}); types: ${[...new Set(events.map((e) => e.type))].join(', ')}`);
  for (const x of calls) {
    const mine = models.filter((e) => e.data.model_id === x.model);
    assert.equal(mine.length, 1, `one model.invocation with the model id the program sent (${x.model})`);
    const m = mine[0]!.data;
    assert.equal(m.prompt_token_count, x.prompt_tokens, `${x.model}: prompt tokens from usage`);
    assert.equal(m.output_token_count, x.completion_tokens, `${x.model}: output tokens from usage`);
    assert.equal(m.output_hash, expectedContentHash(x.text, join(c.work, 'keys')), `${x.model}: output hash = sha256 of the text the program received`);
    assert.equal(m.stream, opts.stream);
    assert.equal(m.input_complete, true);
    assert.equal(m.output_complete, true);
  }

  const egress = events.find((e) => e.type === 'dev.agentrail.data.access' && e.data.resource_uri === `tls://localhost:${c.mock.port}`);
  assert.ok(egress, `egress data.access; got ${events.filter((e) => e.type === 'dev.agentrail.data.access').map((e) => e.data.resource_uri).join(', ')}`);
  assert.equal(egress.data.network.plaintext, 'full', 'the whole connection was seen in plaintext');

  const trail = allLogText(join(dir, 'log'));
  assert.ok(!(trail + r.stderr).includes(apiKey), 'API key leaked');
  assert.ok(!trail.includes(`CANARYPROMPT${tag}`), 'prompt text leaked into the trail');
}

for (const tc of Object.keys(GO_TOOLCHAINS)) {
  test(`Go crypto/tls (${tc}): the locator finds Write, Read and its RETs in plain and -s -w builds, and caches by build-id`, async (t) => {
    if (!requireTool(t, goAvailable(tc), `the ${tc} toolchain (${GO_TOOLCHAINS[tc]})`)) return;
    const work = mkdtempSync(join(tmpdir(), 'agentrail-golocate-'));
    process.env.AGENTRAIL_TLS_CACHE_DIR = join(work, 'cache');
    t.after(() => {
      delete process.env.AGENTRAIL_TLS_CACHE_DIR;
      rmSync(work, { recursive: true, force: true });
    });
    const plain = buildGoFixture('go-llm-client', join(work, 'plain'), { toolchain: tc });
    const stripped = buildGoFixture('go-llm-client', join(work, 'stripped'), { toolchain: tc, stripped: true });
    const { locateGoTls } = loadAddon();
    const goVersion = /go version (go\S+)/.exec(execFileSync(GO_TOOLCHAINS[tc]!, ['version'], { encoding: 'utf8' }))![1]!;
    for (const bin of [plain, stripped]) {
      const first = locateGoTls(bin);
      assert.equal(first.found, true, `${bin}: ${first.why}`);
      assert.equal(first.cacheHit, false);
      assert.equal(first.goVersion, goVersion, 'the Go version from .go.buildinfo');
      // Independent check of the offsets: the bytes there are what x86 code must hold.
      const bytes = readFileSync(bin);
      assert.ok(first.readRets.length >= 1);
      for (const off of first.readRets) assert.equal(bytes[off], 0xc3, `RET at 0x${off.toString(16)}`);
      // The Go prologue: cmp rsp|r12, [r14+0x10] (49 3b 66 10 / 4d 3b 66 10) in the first 9 bytes.
      for (const off of [first.write, first.read])
        assert.ok(/(49|4d)3b6610/.test(bytes.subarray(off, off + 9).toString('hex')), `stack-bound check at 0x${off.toString(16)}`);
      const again = locateGoTls(bin);
      assert.equal(again.cacheHit, true, 'second lookup served from the build-id cache');
      assert.deepEqual({ ...again, ms: 0 }, { ...first, cacheHit: true, ms: 0 });
    }
    // The symbol table of the plain build (go tool nm) agrees with the locator.
    const nm = execFileSync(GO_TOOLCHAINS[tc]!, ['tool', 'nm', plain], { encoding: 'utf8' });
    const sym = (name: string) => Number.parseInt(new RegExp(`^\\s*([0-9a-f]+) T ${name.replace(/[()*.]/g, '\\$&')}$`, 'm').exec(nm)![1]!, 16);
    const m = /\.text\s+PROGBITS\s+([0-9a-f]+)\s+([0-9a-f]+)/.exec(execFileSync('readelf', ['-SW', plain], { encoding: 'utf8' }))!;
    const toOff = (va: number) => va - Number.parseInt(m[1]!, 16) + Number.parseInt(m[2]!, 16);
    const found = locateGoTls(plain);
    assert.equal(found.write, toOff(sym('crypto/tls.(*Conn).Write')));
    assert.equal(found.read, toOff(sym('crypto/tls.(*Conn).Read')));
    // And the stripped build has the same code: the same offsets.
    assert.equal(locateGoTls(stripped).write, found.write);
    // A non-Go ELF is not a Go binary.
    assert.equal(locateGoTls('/bin/sh').why, 'not-go');
  });
}

test('Go crypto/tls: altered or TLS-less Go binaries are not probed; a cached entry is re-validated against the file', async (t) => {
  if (!requireTool(t, goAvailable(), 'the go toolchain (go on PATH)')) return;
  const work = mkdtempSync(join(tmpdir(), 'agentrail-golocate-neg-'));
  process.env.AGENTRAIL_TLS_CACHE_DIR = join(work, 'cache');
  t.after(() => {
    delete process.env.AGENTRAIL_TLS_CACHE_DIR;
    rmSync(work, { recursive: true, force: true });
  });
  const { locateGoTls } = loadAddon();
  const good = buildGoFixture('go-llm-client', join(work, 'good'), { stripped: true });
  const loc = locateGoTls(good);
  assert.equal(loc.found, true, loc.why);

  // A copy (same build-id) whose first RET in Read became int3: the cached positive entry no
  // longer matches the file, so it is not trusted; the fresh locate finds one RET fewer.
  const bytes = readFileSync(good);
  bytes[loc.readRets[0]!] = 0xcc;
  const altered = join(work, 'altered-ret');
  writeFileSync(altered, bytes, { mode: 0o755 });
  const again = locateGoTls(altered);
  assert.equal(again.buildId, loc.buildId, 'same build-id');
  assert.equal(again.cacheHit, false, 'the cached entry failed re-validation');
  assert.deepEqual(again.readRets, loc.readRets.slice(1));

  // A copy whose Read prologue lost its stack-bound check (cmp -> 4 NOPs): validation fails, nothing to attach.
  const noCheck = Buffer.from(readFileSync(good));
  assert.ok(/^(49|4d)3b6610/.test(noCheck.subarray(loc.read, loc.read + 4).toString('hex')));
  noCheck.fill(0x90, loc.read, loc.read + 4);
  const noCheckPath = join(work, 'no-stack-check');
  writeFileSync(noCheckPath, noCheck, { mode: 0o755 });
  process.env.AGENTRAIL_TLS_CACHE_DIR = join(work, 'cache2');
  const rejected = locateGoTls(noCheckPath);
  assert.equal(rejected.found, false);
  assert.equal(rejected.why, 'validation-failed');
  assert.equal(locateGoTls(noCheckPath).cacheHit, true, 'negative results are cached too');

  // A corrupt .gopclntab header (functab offset at the very end, nfunc past it, then a huge
  // nfunc): a stable reason, never a read past the table (found by readelf, not by the locator).
  const sec = /\.gopclntab\s+PROGBITS\s+[0-9a-f]+\s+([0-9a-f]+)\s+([0-9a-f]+)/.exec(execFileSync('readelf', ['-SW', good], { encoding: 'utf8' }))!;
  const [tabOff, tabSize] = [Number.parseInt(sec[1]!, 16), Number.parseInt(sec[2]!, 16)];
  for (const [nfunc, pclnOff] of [[5n, BigInt(tabSize - 4)], [0xffffffffffffn, 72n]] as const) {
    const corrupt = Buffer.from(readFileSync(good));
    corrupt.writeBigUInt64LE(nfunc, tabOff + 8);
    corrupt.writeBigUInt64LE(pclnOff, tabOff + 64);
    const path = join(work, `corrupt-${nfunc}`);
    writeFileSync(path, corrupt, { mode: 0o755 });
    process.env.AGENTRAIL_TLS_CACHE_DIR = join(work, `cache-${nfunc}`);
    assert.equal(locateGoTls(path).why, 'pclntab-corrupt');
  }

  // A Go program without crypto/tls: a Go binary, nothing to capture.
  const hello = join(work, 'hello');
  mkdirSync(hello);
  writeFileSync(join(hello, 'go.mod'), 'module hello\n\ngo 1.19\n');
  writeFileSync(join(hello, 'main.go'), 'package main\n\nimport "fmt"\n\nfunc main() { fmt.Println("hi") }\n');
  execFileSync('go', ['build', '-o', join(work, 'hello-bin'), '.'], { cwd: hello, env: { ...process.env, GOTOOLCHAIN: 'local', GOFLAGS: '-mod=mod' }, stdio: 'pipe' });
  const none = locateGoTls(join(work, 'hello-bin'));
  assert.equal(none.found, false);
  assert.equal(none.why, 'no-crypto-tls');
  assert.ok(none.goVersion.startsWith('go1.'));
});

test('Go crypto/tls under the real sensor: model call, tokens, output hash, plaintext full, no key (plain and stripped, Go 1.19 too, HTTP/2 and HTTP/1.1, JSON and SSE, concurrent streams)', { timeout: 300_000 }, async (t) => {
  if (!requireKernel(t)) return;
  if (!requireTool(t, goAvailable() && goAvailable('go1.19'), 'the go toolchains (go on PATH, /usr/lib/go-1.19)')) return;
  const c = await setup(t);
  await runAndCheck(t, c, c.plain, { name: 'plain-h2', stream: false });
  await runAndCheck(t, c, c.stripped, { name: 'stripped-h2-sse', stream: true });
  await runAndCheck(t, c, c.stripped, { name: 'stripped-h1', stream: false, http1: true });
  await runAndCheck(t, c, c.stripped119, { name: 'go119-stripped-h2-sse', stream: true });
  // Then three calls at once on the same HTTP/2 connection: streams multiplexed over one *tls.Conn.
  await runAndCheck(t, c, c.stripped, { name: 'stripped-h2-parallel', stream: true, parallel: 3 });
});

/** HTTP/2 frames of one direction of a captured connection: [type, stream id, flags]; throws unless they tile the bytes exactly. */
function h2Frames(b: Buffer, skip: number): Array<{ type: number; sid: number; flags: number }> {
  const out = [];
  let off = skip;
  while (off + 9 <= b.length) {
    out.push({ type: b[off + 3]!, flags: b[off + 4]!, sid: b.readUInt32BE(off + 5) & 0x7fffffff });
    off += 9 + b.readUIntBE(off, 3);
  }
  assert.equal(off, b.length, 'the captured bytes are whole HTTP/2 frames, none missing or cut');
  return out;
}

test('Go crypto/tls: concurrent HTTP/2 streams over one *tls.Conn are captured whole in both directions', { timeout: 120_000 }, async (t) => {
  if (!requireKernel(t)) return;
  if (!requireTool(t, goAvailable(), 'the go toolchain (go on PATH)')) return;
  const c = await setup(t);
  const { sensor, events } = startCollectingSensor();
  t.after(() => sensor.stop());
  // Held on stdin, traced by pid, then it waits for its own probe (AGENTRAIL_WAIT_PROBE).
  const child = spawn('sh', ['-c', 'read _go; exec "$@"', 'sh', c.stripped, `https://localhost:${c.mock.port}`, 'gpt-go-par', 'hello', 'stream'], {
    stdio: ['pipe', 'pipe', 'inherit'],
    env: { ...process.env, SSL_CERT_FILE: c.ca.caPath, GO_LLM_PARALLEL: '3', AGENTRAIL_WAIT_PROBE: '1', AGENTRAIL_TLS_CACHE_DIR: join(c.work, 'cache') },
  });
  t.after(() => void (child.exitCode === null && child.kill('SIGKILL')));
  sensor.addPid(child.pid!);
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d));
  child.stdin!.end('\n');
  assert.equal(await new Promise((r) => child.on('exit', r)), 0);
  const lines = out.trim().split('\n').map((l) => JSON.parse(l) as Printed);
  assert.equal(lines.length, 4, 'one call, then three at once');
  assert.ok(lines.every((l) => l.proto === 'HTTP/2.0' && l.text === finalText));
  // Wait on the sensor: the process's exit record means its last reads are in.
  for (let i = 0; i < 100 && !events.some((e) => e.kind === 'proc.exit' && e.pid === child.pid && !e.isThread); i++) await new Promise((r) => setTimeout(r, 50));

  const data = events.filter((e): e is TlsData => e.kind === 'tls.data' && e.pid === child.pid);
  const conns = new Set(data.map((e) => e.sslPtr));
  assert.equal(conns.size, 1, 'all four calls over one *tls.Conn');
  assert.ok(data.every((e) => (e.flags & 1) === 0), 'nothing truncated');
  const dir = (d: number) => Buffer.concat(data.filter((e) => e.direction === d).map((e) => e.data));
  const egress = dir(0);
  assert.equal(egress.subarray(0, 24).toString('latin1'), 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'starts with the client preface');
  const sent = h2Frames(egress, 24);
  const received = h2Frames(dir(1), 0);
  const reqStreams = new Set(sent.filter((f) => f.type === 1).map((f) => f.sid));
  assert.equal(reqStreams.size, 4, 'four request HEADERS');
  // Every response stream has its HEADERS and ends (END_STREAM on DATA or HEADERS), and the three concurrent ones interleave.
  for (const sid of reqStreams) {
    assert.ok(received.some((f) => f.type === 1 && f.sid === sid), `response HEADERS of stream ${sid}`);
    assert.ok(received.some((f) => (f.type === 0 || f.type === 1) && f.sid === sid && (f.flags & 1) !== 0), `stream ${sid} ends`);
  }
  const dataOrder = received.filter((f) => f.type === 0 && f.sid !== Math.min(...reqStreams)).map((f) => f.sid);
  assert.ok(dataOrder.some((sid, i) => i > 0 && sid !== dataOrder[i - 1]), 'response DATA of the concurrent streams arrives interleaved');
});
