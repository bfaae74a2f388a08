import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { createSecureServer } from 'node:http2';
import { createServer } from 'node:net';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import dnsPacket from 'dns-packet';
import { requireKernel, requireTool } from '../helpers/privileges.js';
import { runCliAsync } from '../helpers/cli.js';
import { makeTestCa, removeTestCa } from '../helpers/tls-server.js';

const NAME = 'upload.floor.test';
const BODY = 200_000;
const RAW = 5_000;

function goAvailable(): boolean {
  return spawnSync('go', ['version'], { stdio: 'ignore' }).status === 0;
}

interface Ev { type: string; data: Record<string, any> }

/** Renames crypto/tls.(*Conn).Write in the function name table (a plain byte search, independent of the locator). */
function alterGoTlsName(bin: string): void {
  const bytes = readFileSync(bin);
  const name = Buffer.from('crypto/tls.(*Conn).Write\0');
  const at = bytes.indexOf(name);
  assert.ok(at >= 0 && bytes.indexOf(name, at + 1) < 0, 'the name is in the binary once');
  bytes[at + name.length - 3] = 0x78; // "Write" -> "Wrixe"
  writeFileSync(bin, bytes);
}

/**
 * The egress floor on a client whose TLS agentrail does not recognise: a Go
 * client stripped with -s -w whose `crypto/tls.(*Conn).Write` name in
 * .gopclntab was altered (the Go locator needs both Write and Read, so it
 * reports the binary unrecognized and attaches nothing; the program runs as
 * before, the runtime only uses names for tracebacks): the trail still says which host it
 * connected to (SNI, DNS), how many bytes left and came back (kernel
 * counters), and that it saw none of the plaintext.
 */
test('egress floor: an unrecognised (altered) Go client is named by SNI and DNS and measured by the kernel', { timeout: 240_000 }, async (t) => {
  if (!requireKernel(t)) return;
  if (!requireTool(t, goAvailable(), 'the go toolchain (go on PATH)')) return;
  const dir = mkdtempSync(join(tmpdir(), 'agentrail-floor-'));
  const ca = makeTestCa([NAME]);
  t.after(() => {
    rmSync(dir, { recursive: true, force: true });
    removeTestCa(ca);
  });
  const bin = join(dir, 'egress-client');
  execFileSync('go', ['build', '-ldflags=-s -w', '-o', bin, '.'], { cwd: join(process.cwd(), 'test/fixtures/egress-client'), env: { ...process.env, GOTOOLCHAIN: 'local', GOFLAGS: '-mod=mod' }, stdio: 'pipe' });
  alterGoTlsName(bin);

  // HTTPS server (HTTP/2 by ALPN, HTTP/1.1 allowed) that counts the body it received.
  let received = 0;
  const https = createSecureServer({ cert: readFileSync(ca.certPath), key: readFileSync(ca.keyPath), allowHTTP1: true }, (rq, rs) => {
    rq.on('data', (d: Buffer) => (received += d.length));
    rq.on('end', () => rs.end('x'.repeat(1000)));
  });
  await new Promise<void>((r) => https.listen(0, '127.0.0.1', r));
  // Plain TCP sink.
  let rawReceived = 0;
  const tcp = createServer((s) => s.on('data', (d) => (rawReceived += d.length)));
  await new Promise<void>((r) => tcp.listen(0, '127.0.0.1', r));
  // DNS server on 127.0.0.1:53 answering NAME → 127.0.0.1.
  const dns = createSocket('udp4');
  dns.on('message', (msg, rinfo) => {
    const q = dnsPacket.decode(msg);
    const answer = dnsPacket.encode({
      type: 'response',
      id: q.id ?? 0,
      flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE,
      questions: q.questions ?? [],
      answers: (q.questions ?? []).filter((x) => x.type === 'A' && x.name === NAME).map((x) => ({ type: 'A' as const, name: x.name, ttl: 60, data: '127.0.0.1' })),
    });
    dns.send(answer, rinfo.port, rinfo.address);
  });
  await new Promise<void>((r, j) => {
    dns.once('error', j);
    dns.bind(53, '127.0.0.1', () => r());
  });
  t.after(() => {
    https.close();
    tcp.close();
    dns.close();
  });

  const httpsPort = (https.address() as { port: number }).port;
  const tcpPort = (tcp.address() as { port: number }).port;
  const cfg = join(dir, 'c.yaml');
  writeFileSync(cfg, 'observability:\n  httpPort: 0\n');
  const r = await runCliAsync(['run', '--log-dir', join(dir, 'log'), '--config', cfg, '--', bin, ca.caPath, NAME, String(httpsPort), String(tcpPort), String(BODY), String(RAW)]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^HTTP\/2\.0 200 1000$/m, 'the client spoke HTTP/2 and got the whole answer');
  assert.equal(received, BODY);
  assert.match(r.stderr, /"observer\.tls_go_unrecognized":1[,}]/, 'the altered Go binary is counted unrecognized');

  const events: Ev[] = readdirSync(join(dir, 'log', 'segments'))
    .flatMap((f) => readFileSync(join(dir, 'log', 'segments', f), 'utf8').trim().split('\n'))
    .map((l) => JSON.parse(l) as Ev)
    .filter((e) => e.type === 'dev.agentrail.data.access' && e.data.resource_type === 'socket');

  const upload = events.find((e) => e.data.resource_uri === `tls://${NAME}:${httpsPort}`);
  assert.ok(upload, `egress of the HTTPS upload; got ${events.map((e) => e.data.resource_uri).join(', ')}`);
  assert.equal(upload.data.access_mode, 'connect');
  assert.equal(upload.data.network.name_source, 'sni');
  assert.ok(upload.data.network.alpn.includes('h2'), 'ALPN offered h2');
  assert.equal(upload.data.network.plaintext, 'none', 'the altered Go crypto/tls is not hooked: the trail says so');
  assert.equal(upload.data.network.remote_addr, '127.0.0.1');
  assert.ok(upload.data.bytes_written >= BODY, `bytes that left (${upload.data.bytes_written}) cover the ${BODY}-byte body`);
  assert.ok(upload.data.bytes_written < BODY * 1.1, 'and are TLS-framed body, not double counted');
  assert.ok(upload.data.bytes_read >= 1000, 'the answer came back');

  const raw = events.find((e) => e.data.resource_uri === `tcp://${NAME}:${tcpPort}`);
  assert.ok(raw, 'plain TCP named by the DNS answer the process read');
  assert.equal(raw.data.network.name_source, 'dns');
  assert.equal(raw.data.bytes_written, RAW, 'exact bytes of a plain TCP write');
  assert.equal(rawReceived, RAW);

  const lookup = events.find((e) => e.data.resource_uri === 'dns://127.0.0.1:53');
  assert.ok(lookup, 'the DNS exchange itself is an egress');
  assert.equal(lookup.data.network.transport, 'udp');
  assert.ok(lookup.data.bytes_read > 0 && lookup.data.bytes_written > 0);
});
