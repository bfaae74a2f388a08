import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { request } from 'node:http';
import { parseFirstBytes } from '../../src/protocol/peer/first-bytes.js';
import { parseDnsAnswer } from '../../src/protocol/peer/dns-answer.js';

/** The first bytes a real client writes, caught by a local TCP server. */
async function firstBytesOf(client: (port: number) => Socket | void): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const srv = createServer((s) => {
      s.once('data', (d) => {
        resolve(Buffer.from(d));
        s.destroy();
        srv.close();
      });
    });
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      const c = client(port);
      c?.on('error', () => {});
    });
    srv.on('error', reject);
  });
}

test('a real TLS ClientHello (node:tls) names the server by SNI and lists ALPN', async () => {
  const hello = await firstBytesOf((port) => tlsConnect({ host: '127.0.0.1', port, servername: 'api.example.test', ALPNProtocols: ['h2', 'http/1.1'] }));
  const r = parseFirstBytes(hello);
  assert.equal(r.protocol, 'tls');
  if (r.protocol !== 'tls') return;
  assert.equal(r.sni, 'api.example.test');
  assert.deepEqual(r.alpn, ['h2', 'http/1.1']);
});

test('every truncation of a real ClientHello parses without throwing, and never invents a name', async () => {
  const hello = await firstBytesOf((port) => tlsConnect({ host: '127.0.0.1', port, servername: 'cut.example.test' }));
  for (let n = 0; n <= hello.length; n++) {
    const r = parseFirstBytes(hello.subarray(0, n));
    if (r.protocol === 'tls' && r.sni !== null) assert.equal(r.sni, 'cut.example.test');
  }
});

test('a real plaintext HTTP request (node:http) names the server by Host', async () => {
  const head = await firstBytesOf((port) => {
    const rq = request({ host: '127.0.0.1', port, path: '/v1/x?token=secret', headers: { host: 'Upload.Example.TEST:8080' } });
    rq.on('error', () => {});
    rq.end();
    return undefined;
  });
  assert.deepEqual(parseFirstBytes(head), { protocol: 'http', host: 'upload.example.test' });
});

test('garbage, empty input and hostile names give a reason or null, never an exception', () => {
  assert.deepEqual(parseFirstBytes(Buffer.alloc(0)), { protocol: 'unknown', reason: 'empty' });
  assert.equal(parseFirstBytes(Buffer.from('SSH-2.0-OpenSSH_9.2\r\n')).protocol, 'unknown');
  const evil = parseFirstBytes(Buffer.from('GET / HTTP/1.1\r\nHost: a b<script>\r\n\r\n'));
  assert.deepEqual(evil, { protocol: 'http', host: null });
  for (let i = 0; i < 2000; i++) {
    const b = Buffer.from(Array.from({ length: (i % 300) + 1 }, (_, j) => (i * 31 + j * 7) & 0xff));
    if (i % 3 === 0) { b[0] = 0x16; b[1] = 0x03; }
    parseFirstBytes(b);
  }
});

// RFC 1035 §4.1 response for example.test, written out field by field (not by the parser's own library):
// id 0x1234, flags QR|RD|RA, 1 question, 3 answers: CNAME example.test → edge.example.test, A 10.1.2.3, AAAA 2001:db8::1.
const RESPONSE = Buffer.from(
  [
    '1234', '8180', '0001', '0003', '0000', '0000',
    '07', '6578616d706c65', '04', '74657374', '00', '0001', '0001',
    'c00c', '0005', '0001', '0000003c', '0007', '04', '65646765', 'c00c',
    'c02a', '0001', '0001', '0000003c', '0004', '0a010203',
    'c02a', '001c', '0001', '0000003c', '0010', '20010db8000000000000000000000001',
  ].join(''),
  'hex',
);

test('a DNS answer binds every A/AAAA address to the name the process asked for, through CNAMEs', () => {
  const r = parseDnsAnswer(RESPONSE);
  assert.ok(r.ok, JSON.stringify(r));
  if (!r.ok) return;
  assert.deepEqual(r.bindings.map((b) => [b.name, b.addr]), [['example.test', '10.1.2.3'], ['example.test', '2001:db8::1']]);
});

test('every truncation of a DNS answer gives bindings or a reason, never an exception', () => {
  for (let n = 0; n < RESPONSE.length; n++) parseDnsAnswer(RESPONSE.subarray(0, n));
});

test('a malformed or non-response DNS datagram gives a reason', () => {
  assert.deepEqual(parseDnsAnswer(Buffer.from('1234', 'hex')), { ok: false, reason: 'dns_malformed' });
  const query = Buffer.from('123401000001000000000000076578616d706c650474657374000001' + '0001', 'hex');
  assert.deepEqual(parseDnsAnswer(query), { ok: false, reason: 'dns_not_response' });
});

