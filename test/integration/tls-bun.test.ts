/**
 * Stripped BoringSSL (native/src/boringssl_locator.cc): Bun exports no SSL_*
 * symbols; the attacher finds SSL_write/SSL_read from BoringSSL's ssl_lib.cc
 * error sites, caches the result by build-id and captures a real Bun fetch()
 * to a local TLS server byte for byte. A copy of Bun whose SSL_write error
 * reasons were altered is reported unrecognized and gets no probe.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireKernel, requireTool } from '../helpers/privileges.js';
import { bunBinary, claudeBinary } from '../helpers/agent-bins.js';
import { makeTestCa, removeTestCa, startRawHttpsServer, type RawExchange, type RawHttpsServer, type TestCa } from '../helpers/tls-server.js';
import type { NativeSensor } from '../../src/native/addon.js';
import type { TlsData } from '../../src/contracts/raw-event.js';
import { startCollectingSensor } from '../helpers/sensor-events.js';
import { runCliAsync } from '../helpers/cli.js';

// Waits for a line on stdin so the test can hold it until probes are live.
const bunClient = `
const ca = require('fs').readFileSync(process.env.CA, 'utf8');
process.stdout.write('ready\\n');
for await (const _ of console) break;
const r = await fetch(process.env.URL, { method: 'POST', body: 'bun-stripped-body', tls: { ca } });
console.log(r.status, (await r.arrayBuffer()).byteLength);
process.exit(0);`;

// A failed assertion must not leave a client running or a cache dir behind.
async function cleanUp(kids: ChildProcess[], sensor: NativeSensor, server: RawHttpsServer, ca: TestCa, work: string) {
  for (const k of kids) if (k.exitCode === null) k.kill('SIGKILL');
  sensor.stop();
  delete process.env.AGENTRAIL_TLS_CACHE_DIR;
  await server.close();
  removeTestCa(ca);
  rmSync(work, { recursive: true, force: true });
}

/** A copy of Bun whose `mov edi,16; xor esi,esi; mov edx,226` sites get reason 227 (found by a plain byte search, independently of the locator). */
function alteredBun(bun: string, work: string): string {
  const bytes = readFileSync(bun);
  const needle = Buffer.from([0xbf, 0x10, 0, 0, 0, 0x31, 0xf6, 0xba, 0xe2, 0, 0, 0]);
  let patched = 0;
  for (let i = bytes.indexOf(needle); i >= 0; i = bytes.indexOf(needle, i + 1)) {
    bytes[i + 8] = 0xe3;
    patched++;
  }
  assert.ok(patched > 0, 'the reason-226 sites exist in this Bun build');
  const altered = join(work, 'bun-altered');
  writeFileSync(altered, bytes);
  chmodSync(altered, 0o755);
  return altered;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
type Counters = Record<string, number>;

async function runClient(bin: string, script: string, env: NodeJS.ProcessEnv, sensor: NativeSensor, ready: (c: Counters) => boolean, kids: ChildProcess[]) {
  const child = spawn(bin, [script], { stdio: ['pipe', 'pipe', 'pipe'], env });
  kids.push(child);
  sensor.addPid(child.pid!);
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((res) => child.on('exit', (c) => res(c)));
  const deadline = Date.now() + 20_000;
  while (!(out.includes('ready') && ready(sensor.counters().observers)) && Date.now() < deadline) await sleep(10);
  child.stdin.end('go\n');
  const code = await exited;
  return { pid: child.pid!, code, out, err };
}

test('TLS stripped BoringSSL: Bun fetch() is captured through located SSL_write/SSL_read; an altered copy is unrecognized', async (t) => {
  if (!requireKernel(t)) return;
  const bun = bunBinary();
  if (!requireTool(t, bun !== undefined, 'a runnable bun (test/helpers/agent-bins.ts)')) return;
  const ca = makeTestCa();
  const work = mkdtempSync(join(tmpdir(), 'ar-bun-'));
  const cacheDir = join(work, 'cache');
  process.env.AGENTRAIL_TLS_CACHE_DIR = cacheDir;
  const script = join(work, 'client.mjs');
  writeFileSync(script, bunClient);
  // Our own copy: a new inode, so this sensor inspects it even if another test attached the original.
  const copy = join(work, 'bun');
  copyFileSync(bun!, copy);
  chmodSync(copy, 0o755);
  // The altered copy: every `mov edi,16; xor esi,esi; mov edx,226` (SSL, SSL_R_UNINITIALIZED) gets
  // reason 227, so SSL_write no longer has its reason set {66, 226, 215, 111}. Found here with a
  // plain byte search, independently of the locator.
  const altered = alteredBun(bun!, work);

  const server = await startRawHttpsServer(ca, () => 30_000);
  const { sensor, events } = startCollectingSensor();
  const kids: ChildProcess[] = [];
  try {
    const env = { ...process.env, CA: ca.caPath, URL: `https://localhost:${server.port}/bun` };
    // Settle the start scan first, then hold the client until the probes on its copy are live.
    let base = sensor.counters().observers.tls_files_attached ?? 0;
    for (;;) {
      await sleep(300);
      const now = sensor.counters().observers.tls_files_attached ?? 0;
      if (now === base) break;
      base = now;
    }
    const r = await runClient(copy, script, env, sensor, (c) => (c.tls_stripped_located ?? 0) >= 1 && (c.tls_files_attached ?? 0) > base, kids);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /200 30000/);
    const c = sensor.counters().observers;
    assert.equal(c.tls_stripped_located, 1, 'SSL_write/SSL_read located in the stripped Bun');
    const cached = readdirSync(cacheDir);
    assert.equal(cached.length, 1, 'one cache entry, named by build-id');
    assert.match(cached[0]!, /^[0-9a-f]{40}$/);
    assert.match(readFileSync(join(cacheDir, cached[0]!), 'utf8'), /^agentrail-tls-v1 1 [0-9a-f]+ [0-9a-f]+ -\n$/);
    t.diagnostic(`locate time (first sight of this build-id): ${((c.tls_locate_ns_max ?? 0) / 1e6).toFixed(1)} ms`);
    const [ex] = (await server.waitFor(1)) as [RawExchange];
    const end = Date.now() + 5_000;
    while (!events.some((e) => e.kind === 'proc.exit' && e.pid === r.pid) && Date.now() < end) await sleep(20);
    const data = events.filter((e): e is TlsData => e.kind === 'tls.data' && e.pid === r.pid);
    const egress = Buffer.concat(data.filter((e) => e.direction === 0).map((e) => e.data));
    const ingress = Buffer.concat(data.filter((e) => e.direction === 1).map((e) => e.data));
    assert.ok(egress.equals(ex.received), `request captured (${egress.length} of ${ex.received.length} bytes)`);
    assert.ok(ingress.equals(ex.sent), `response captured (${ingress.length} of ${ex.sent.length} bytes)`);

    // The altered copy shares the build-id: a cached answer must not be trusted for it. Use a fresh cache.
    process.env.AGENTRAIL_TLS_CACHE_DIR = join(work, 'cache2');
    const before = sensor.counters().observers;
    const a = await runClient(altered, script, env, sensor, (c2) => (c2.tls_stripped_unrecognized ?? 0) > (before.tls_stripped_unrecognized ?? 0), kids);
    assert.equal(a.code, 0, a.err);
    assert.match(a.out, /200 30000/, 'the altered copy still works');
    const after = sensor.counters().observers;
    assert.equal(after.tls_stripped_unrecognized, (before.tls_stripped_unrecognized ?? 0) + 1, 'reported unrecognized');
    assert.equal(after.tls_files_attached, before.tls_files_attached, 'nothing attached to the altered copy');
    assert.equal(events.filter((e) => e.kind === 'tls.data' && e.pid === a.pid).length, 0, 'no plaintext from the unrecognized binary');
  } finally {
    await cleanUp(kids, sensor, server, ca, work);
  }
});

// The pinned Claude Code builds (.cache/agents, 2.1.329 / 2.1.332) are Bun 1.4 executables; a
// request to its API base URL must be captured in plaintext from the located SSL_write.
test('TLS stripped BoringSSL: a Claude Code request to its API is captured in plaintext', async (t) => {
  if (!requireKernel(t)) return;
  const claude = claudeBinary();
  if (!requireTool(t, claude !== undefined, 'a runnable Claude Code native binary (test/helpers/agent-bins.ts)')) return;
  const ca = makeTestCa();
  const work = mkdtempSync(join(tmpdir(), 'ar-claude-'));
  process.env.AGENTRAIL_TLS_CACHE_DIR = join(work, 'cache');
  const server = await startRawHttpsServer(ca, () => 100);
  const { sensor, events } = startCollectingSensor();
  const kids: ChildProcess[] = [];
  try {
    const env = {
      ...process.env,
      HOME: work,
      NODE_EXTRA_CA_CERTS: ca.caPath,
      ANTHROPIC_BASE_URL: `https://localhost:${server.port}`,
      ANTHROPIC_API_KEY: 'sk-ant-test-not-a-key',
      CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
      DISABLE_AUTOUPDATER: '1',
    };
    // A first traced run attaches the binary's inode (probes stay, pid = -1), so the
    // measured run below is probed from its first instruction.
    const warm = spawn(claude!, ['--version'], { stdio: ['ignore', 'pipe', 'ignore'], env });
    kids.push(warm);
    sensor.addPid(warm.pid!);
    let version = '';
    warm.stdout.on('data', (d) => (version += d));
    await new Promise((res) => warm.on('exit', res));
    const deadline = Date.now() + 20_000;
    while ((sensor.counters().observers.tls_stripped_located ?? 0) < 1 && Date.now() < deadline) await sleep(20);
    assert.equal(sensor.counters().observers.tls_stripped_located, 1, 'SSL_write/SSL_read located in Claude Code');
    t.diagnostic(`${version.trim()} (${claude}); locate time: ${((sensor.counters().observers.tls_locate_ns_max ?? 0) / 1e6).toFixed(1)} ms`);

    const child = spawn(claude!, ['-p', 'say hello'], { stdio: ['ignore', 'pipe', 'pipe'], env });
    kids.push(child);
    sensor.addPid(child.pid!);
    const [ex] = (await server.waitFor(1)) as [RawExchange];
    // Claude Code's first request to its base URL may be a HEAD preconnect, then POST /v1/messages.
    assert.match(ex.received.subarray(0, 200).toString('latin1'), /^(HEAD|GET|POST) \S+ HTTP\/1\.1\r\n/, 'a request of Claude Code reached the server');
    const egress = () =>
      Buffer.concat(events.filter((e): e is TlsData => e.kind === 'tls.data' && e.pid === child.pid && e.direction === 0).map((e) => e.data));
    const end = Date.now() + 10_000;
    while (egress().indexOf(ex.received) < 0 && Date.now() < end) await sleep(50);
    assert.ok(egress().indexOf(ex.received) >= 0, `the request is in the captured plaintext (${egress().length} bytes captured, ${ex.received.length} sent)`);
  } finally {
    await cleanUp(kids, sensor, server, ca, work);
  }
});

test('an unrecognised TLS library is never a silent gap: one log line, and the egress floor still shows the connection with plaintext none', { timeout: 180_000 }, async (t) => {
  if (!requireKernel(t)) return;
  const bun = bunBinary();
  if (!requireTool(t, bun !== undefined, 'a runnable bun (test/helpers/agent-bins.ts)')) return;
  const ca = makeTestCa();
  const work = mkdtempSync(join(tmpdir(), 'ar-bun-unrec-'));
  const server = await startRawHttpsServer(ca, () => 30_000);
  t.after(async () => {
    await server.close();
    removeTestCa(ca);
    rmSync(work, { recursive: true, force: true });
  });
  const script = join(work, 'client.mjs');
  writeFileSync(script, bunClient);
  const altered = alteredBun(bun!, work);
  const cfg = join(work, 'c.yaml');
  writeFileSync(cfg, 'observability:\n  httpPort: 0\n');
  const logDir = join(work, 'log');
  const r = await runCliAsync(['run', '--log-dir', logDir, '--config', cfg, '--', altered, script], {
    env: { CA: ca.caPath, URL: `https://localhost:${server.port}/bun`, AGENTRAIL_TLS_CACHE_DIR: join(work, 'cache') },
    timeoutMs: 150_000,
  });
  assert.equal(r.status, 0, r.stderr.slice(-2000));
  assert.match(r.stdout, /200 30000/, 'the altered copy still works');
  const warnings = r.stderr.split('\n').filter((l) => l.includes('TLS library not recognised'));
  assert.equal(warnings.length, 1, 'one log line says the sensor is blind to its plaintext');
  assert.equal(JSON.parse(warnings[0]!).path, altered, 'and names the binary');
  const events = readdirSync(join(logDir, 'segments')).flatMap((f) => readFileSync(join(logDir, 'segments', f), 'utf8').trim().split('\n')).map((l) => JSON.parse(l) as { type: string; data: Record<string, any> });
  const egress = events.find((e) => e.type === 'dev.agentrail.data.access' && e.data.resource_uri === `tls://localhost:${server.port}`);
  assert.ok(egress, 'the connection is in the trail');
  assert.equal(egress.data.network.plaintext, 'none');
  assert.ok(egress.data.bytes_written > 0);
});
