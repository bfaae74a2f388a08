/**
 * TLS plaintext capture through uprobes (bpf/tls.bpf.c + native/src/tls_attacher.cc),
 * on the real kernel: a local HTTPS server with a throwaway CA, clients in Node
 * (`https.request`, global `fetch`), Python 3 (`urllib.request`) and curl
 * (`--http1.1`). For each client the plaintext the sensor captured in each
 * direction, reassembled from AR_OP_TLS_DATA chunks by (pid, SSL*, direction)
 * in call order, must equal byte for byte what the server received and sent
 * (request line + headers + a 45,000-byte body; a 50,000-byte response, i.e.
 * several TLS records), and the stream must be paired with the socket fd of
 * the client's connect() to the server's port. Go: a net/http client built
 * with -s -w (test/fixtures/go-llm-client), captured through crypto/tls.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { requireKernel, requireTool } from '../helpers/privileges.js';
import { buildGoFixture, goAvailable, GO_TOOLCHAINS } from '../helpers/go-build.js';
import { makeTestCa, removeTestCa, startRawHttpsServer, patternBody, type RawExchange, type TestCa } from '../helpers/tls-server.js';
import { createSensor, type NativeSensor } from '../../src/native/addon.js';
import { decodeBatch } from '../../src/decode/decode-batch.js';
import type { RawEvent, TlsData, TlsPair, NetConn } from '../../src/contracts/raw-event.js';

const REQUEST_BODY = 45_000;
const RESPONSE_BODY = 50_000;
const BIG_CAP = 256 * 1024; // every call of these clients fits whole

function hasTool(cmd: string, args: string[]): boolean {
  return spawnSync(cmd, args, { stdio: 'ignore' }).status === 0;
}

class Capture {
  events: RawEvent[] = [];
  sensor: NativeSensor;
  constructor(tlsCap?: number) {
    this.sensor = createSensor(tlsCap === undefined ? { flushIntervalMs: 0 } : { tlsCap, flushIntervalMs: 0 });
  }
  async start(): Promise<void> {
    this.sensor.start((buf) => {
      if (!buf) return; // end of stream after stop()
      for (const e of decodeBatch(buf)) this.events.push(e);
    });
    // The attacher runs on the poll thread: wait until the well-known libssl /
    // node probes are live before starting clients.
    const deadline = Date.now() + 10_000;
    while ((this.sensor.counters().observers.tls_probes_attached ?? 0) === 0) {
      if (Date.now() > deadline) throw new Error('TLS probes were not attached within 10 s');
      await new Promise((r) => setTimeout(r, 10));
    }
  }
  /** Run a client traced from its first instruction (sh waits on stdin, then execs it). */
  async run(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ pid: number; code: number | null; stdout: string; stderr: string }> {
    const child = spawn('sh', ['-c', 'read _go; exec "$@"', 'sh', cmd, ...args], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, ...env },
    });
    const pid = child.pid!;
    this.sensor.addPid(pid);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.stdin.end('\n');
    const code = await new Promise<number | null>((res) => child.on('exit', (c) => res(c)));
    // Wait for the process's exit record: everything it did is in by then.
    const deadline = Date.now() + 5_000;
    while (!this.events.some((e) => e.kind === 'proc.exit' && e.pid === pid && !e.isThread) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    await new Promise((r) => setTimeout(r, 100));
    return { pid, code, stdout, stderr };
  }
  stop(): void {
    this.sensor.stop();
  }
}

interface Call {
  seq: bigint;
  callLen: number;
  flags: number;
  data: Buffer;
}
interface Stream {
  ssl: bigint;
  egress: Call[];
  ingress: Call[];
}

/** Reassemble TLS_DATA chunks of one pid by (SSL*, direction), in call order. */
function streamsOf(events: RawEvent[], pid: number): Map<bigint, Stream> {
  const out = new Map<bigint, Stream>();
  for (const e of events) {
    if (e.kind !== 'tls.data' || e.pid !== pid) continue;
    let s = out.get(e.sslPtr);
    if (!s) out.set(e.sslPtr, (s = { ssl: e.sslPtr, egress: [], ingress: [] }));
    const calls = e.direction === 0 ? s.egress : s.ingress;
    let c = calls[calls.length - 1];
    if (!c || c.seq !== e.callSeq) {
      assert.equal(e.chunkOffset, 0, 'a call starts with its chunk at offset 0');
      calls.push((c = { seq: e.callSeq, callLen: e.callLen, flags: e.flags, data: Buffer.alloc(0) }));
    }
    assert.equal(e.chunkOffset, c.data.length, 'chunks of one call arrive in order, without gaps');
    c.data = Buffer.concat([c.data, e.data]);
  }
  return out;
}

const joined = (calls: Call[]) => Buffer.concat(calls.map((c) => c.data));

function connectFd(events: RawEvent[], pid: number, port: number): number[] {
  return events
    .filter((e): e is NetConn => e.kind === 'net.connect' && e.pid === pid && e.port === port)
    .map((e) => e.fd);
}

let ca: TestCa;
let bodyPath: string;
/** Go clients (-s -w) by toolchain (test/helpers/go-build.ts): the go on PATH and Go 1.19. */
const goClients: Record<string, string> = {};

before(() => {
  ca = makeTestCa();
  bodyPath = join(ca.dir, 'request-body.bin');
  writeFileSync(bodyPath, patternBody(REQUEST_BODY, 7));
  for (const tc of Object.keys(GO_TOOLCHAINS))
    if (goAvailable(tc)) goClients[tc] = buildGoFixture('go-llm-client', join(ca.dir, `go-llm-client-${tc}`), { toolchain: tc, stripped: true });
});
after(() => {
  if (ca) removeTestCa(ca);
});

interface ClientCase {
  name: string;
  /** 1 = socket I/O inside the SSL call (OpenSSL socket BIO), 2 = next socket write (Node memory BIO). */
  how: number;
  available: () => boolean;
  argv: (url: string) => { cmd: string; args: string[]; env?: NodeJS.ProcessEnv };
}

const nodeHttps = `
const https = require('node:https'); const fs = require('node:fs');
const body = fs.readFileSync(process.env.BODY);
const req = https.request(process.env.URL, { method: 'POST', headers: { 'content-type': 'application/octet-stream', 'content-length': body.length } }, (res) => {
  let n = 0; res.on('data', (d) => (n += d.length)); res.on('end', () => console.log(res.statusCode, n));
});
req.on('error', (e) => { console.error(e.message); process.exit(2); });
req.end(body);`;

const nodeFetch = `
const fs = require('node:fs');
(async () => {
  const res = await fetch(process.env.URL, { method: 'POST', body: fs.readFileSync(process.env.BODY), headers: { 'content-type': 'application/octet-stream' } });
  const b = Buffer.from(await res.arrayBuffer());
  console.log(res.status, b.length);
})().catch((e) => { console.error(e.message); process.exit(2); });`;

const pyUrllib = `
import os, ssl, urllib.request
ctx = ssl.create_default_context(cafile=os.environ['CA'])
body = open(os.environ['BODY'], 'rb').read()
req = urllib.request.Request(os.environ['URL'], data=body, method='POST', headers={'Content-Type': 'application/octet-stream'})
with urllib.request.urlopen(req, context=ctx) as r:
    print(r.status, len(r.read()))`;

const cases: ClientCase[] = [
  {
    name: 'node https.request',
    how: 2,
    available: () => true,
    argv: (url) => ({ cmd: process.execPath, args: ['-e', nodeHttps], env: { URL: url, BODY: bodyPath, NODE_EXTRA_CA_CERTS: ca.caPath } }),
  },
  {
    name: 'node global fetch',
    how: 2,
    available: () => typeof fetch === 'function',
    argv: (url) => ({ cmd: process.execPath, args: ['-e', nodeFetch], env: { URL: url, BODY: bodyPath, NODE_EXTRA_CA_CERTS: ca.caPath } }),
  },
  {
    name: 'python3 urllib.request',
    how: 1,
    available: () => hasTool('python3', ['-c', 'import ssl, urllib.request']),
    argv: (url) => ({ cmd: 'python3', args: ['-c', pyUrllib], env: { URL: url, BODY: bodyPath, CA: ca.caPath } }),
  },
  {
    name: 'curl --http1.1',
    how: 1,
    available: () => hasTool('curl', ['--version']),
    argv: (url) => ({
      cmd: 'curl',
      args: ['-sS', '--http1.1', '--cacert', ca.caPath, '-H', 'Content-Type: application/octet-stream', '--data-binary', `@${bodyPath}`,
        '-o', '/dev/null', '-w', '%{http_code} %{size_download}\\n', url],
    }),
  },
  // crypto/tls writes the socket from the same thread inside (*Conn).Write (no return probe on Go code): how = 2.
  ...Object.keys(GO_TOOLCHAINS).map((tc) => ({
    name: `go net/http (crypto/tls, ${tc === 'go' ? 'go on PATH' : tc}, -s -w)`,
    how: 2,
    available: () => goClients[tc] !== undefined,
    argv: (url: string) => ({ cmd: goClients[tc]!, args: ['post', url, bodyPath], env: { SSL_CERT_FILE: ca.caPath, AGENTRAIL_WAIT_PROBE: '1' } }),
  })),
];

for (const c of cases) {
  test(`TLS capture: ${c.name} plaintext both ways, byte for byte, paired with its socket`, async (t) => {
    if (!requireKernel(t)) return;
    if (!requireTool(t, c.available(), c.name)) return;
    const server = await startRawHttpsServer(ca, () => RESPONSE_BODY);
    const cap = new Capture(BIG_CAP);
    try {
      await cap.start();
      const path = `/capture/${c.name.replace(/\W+/g, '-')}`;
      const { cmd, args, env } = c.argv(`https://localhost:${server.port}${path}`);
      const r = await cap.run(cmd, args, env);
      assert.equal(r.code, 0, `client failed: ${r.stderr}`);
      assert.equal(r.stdout.trim(), `200 ${RESPONSE_BODY}`);
      const [ex] = (await server.waitFor(1)) as [RawExchange];
      assert.equal(ex.requestLine, `POST ${path} HTTP/1.1`);
      assert.equal(ex.body.length, REQUEST_BODY);

      const streams = [...streamsOf(cap.events, r.pid).values()];
      const s = streams.find((x) => x.egress.length > 0 && joined(x.egress).subarray(0, 5).toString('latin1') === 'POST ');
      assert.ok(s, `no captured TLS stream with a POST (streams: ${streams.length})`);
      const egress = joined(s.egress);
      const ingress = joined(s.ingress);
      assert.ok(s.egress.every((k) => (k.flags & 1) === 0 && k.data.length === k.callLen), 'no egress call truncated at the cap');
      assert.ok(s.ingress.every((k) => (k.flags & 1) === 0 && k.data.length === k.callLen), 'no ingress call truncated');
      assert.equal(egress.subarray(0, ex.requestLine.length + 2).toString('latin1'), `${ex.requestLine}\r\n`, 'request line');
      assert.ok(egress.subarray(egress.length - REQUEST_BODY).equals(ex.body), 'captured request body = bytes the server received');
      assert.equal(egress.length, ex.received.length, 'egress length');
      assert.ok(egress.equals(ex.received), 'captured egress plaintext = bytes the server received');
      assert.equal(ingress.length, ex.sent.length, 'ingress length');
      assert.ok(ingress.equals(ex.sent), 'captured ingress plaintext = bytes the server sent');
      assert.ok(s.ingress.length >= 2, 'the 50 KB response spans several SSL_read calls');

      // Pairing: the SSL* is paired with the fd the client connect()ed to the server's port.
      const fds = connectFd(cap.events, r.pid, server.port);
      assert.equal(fds.length, 1, `one connect to port ${server.port}`);
      const pairs = cap.events.filter((e): e is TlsPair => e.kind === 'tls.pair' && e.pid === r.pid && e.sslPtr === s.ssl);
      assert.ok(pairs.length >= 1, 'a TLS_PAIR record for the stream');
      assert.equal(pairs[pairs.length - 1]!.fd, fds[0], 'paired with the connected socket');
      assert.equal(pairs[0]!.how, c.how, 'pairing method');
      const dataFds = cap.events.filter((e): e is TlsData => e.kind === 'tls.data' && e.pid === r.pid && e.sslPtr === s.ssl && e.fd >= 0);
      assert.ok(dataFds.length > 0 && dataFds.every((e) => e.fd === fds[0]), 'TLS_DATA records after pairing carry the socket fd');

      const drops = cap.sensor.counters().drops.tls ?? {};
      assert.equal(drops.ringbuf_full ?? 0, 0, 'no ring-buffer drops');
      assert.equal(cap.sensor.counters().observers.tls_attach_failures, 0, 'no attach failures');
    } finally {
      cap.stop();
      await server.close();
    }
  });
}

const DEFAULT_CAP = 2 * 1024 * 1024; // AR_TLS_CAP_DEFAULT
const pyOneCall = `
import os, ssl, http.client, urllib.parse
u = urllib.parse.urlparse(os.environ['URL'])
c = http.client.HTTPSConnection(u.hostname, u.port, context=ssl.create_default_context(cafile=os.environ['CA']))
c.request('POST', u.path, body=open(os.environ['BODY'], 'rb').read())
r = c.getresponse(); r.read(); print(r.status)`;

for (const capBytes of [undefined, 10_000]) {
test(`TLS capture: a call larger than the ${capBytes === undefined ? 'default 2 MiB' : capBytes + '-byte'} cap is truncated, flagged and keeps its true length`, async (t) => {
  if (!requireKernel(t)) return;
  // curl writes at most 64 KiB per SSL_write: above the default cap, Python's http.client sends the body in one call.
  if (capBytes === undefined ? !requireTool(t, hasTool('python3', ['-c', 'import ssl, http.client']), 'python3') : !requireTool(t, hasTool('curl', ['--version']), 'curl')) return;
  const server = await startRawHttpsServer(ca, () => 1000);
  const cap = new Capture(capBytes); // undefined: the addon default, AR_TLS_CAP_DEFAULT = 2 MiB
  const limit = capBytes ?? DEFAULT_CAP;
  const bigBody = join(ca.dir, 'request-body-3m.bin');
  if (capBytes === undefined) writeFileSync(bigBody, patternBody(3 * 1024 * 1024 + 123, 9));
  try {
    await cap.start();
    const r = capBytes === undefined
      ? await cap.run('python3', ['-c', pyOneCall], { URL: `https://localhost:${server.port}/truncate`, BODY: bigBody, CA: ca.caPath })
      : await cap.run('curl', ['-sS', '--http1.1', '--cacert', ca.caPath, '--data-binary', `@${bodyPath}`, '-o', '/dev/null',
        `https://localhost:${server.port}/truncate`]);
    assert.equal(r.code, 0, r.stderr);
    const [ex] = (await server.waitFor(1)) as [RawExchange];
    const streams = [...streamsOf(cap.events, r.pid).values()];
    const calls = streams.flatMap((s) => s.egress);
    const big = calls.filter((k) => k.callLen > limit);
    assert.ok(big.length >= 1, `an SSL_write larger than ${limit} B (calls: ${calls.map((k) => k.callLen).join(',')})`);
    let offset = 0;
    for (const k of calls) {
      if (k.callLen > limit) {
        assert.equal(k.flags & 1, 1, 'AR_F_TRUNCATED set');
        assert.equal(k.data.length, limit, 'exactly the cap was captured');
        assert.ok(k.data.equals(ex.received.subarray(offset, offset + limit)), 'the captured prefix is the real plaintext');
      } else {
        assert.equal(k.flags & 1, 0, 'calls within the cap are not flagged');
        assert.ok(k.data.equals(ex.received.subarray(offset, offset + k.callLen)));
      }
      offset += k.callLen;
    }
    assert.equal(offset, ex.received.length, 'true call lengths add up to the bytes the server received');
    const drops = cap.sensor.counters().drops.tls ?? {};
    assert.ok((drops.payload_truncated ?? 0) >= big.length, `truncations counted (${JSON.stringify(drops)})`);
  } finally {
    cap.stop();
    await server.close();
  }
});
}
