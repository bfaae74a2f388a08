import test from 'node:test';
import assert from 'node:assert/strict';
import zlib from 'node:zlib';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../../src/paths.js';
import { Capture, chunked, httpRequest, httpResponse, run } from './capture.js';
import type { RawEvent } from '../../src/contracts/raw-event.js';

const FIX = join(repoRoot, 'test', 'fixtures', 'protocol');
const REQ = httpRequest('POST', '/v1/things?x=1', { Host: 'api.example.test', 'Content-Type': 'application/json' }, '{"hello":"wörld"}');
const RES = httpResponse(200, { 'Content-Type': 'application/json' }, '{"ok":true}');

test('request/response split at every byte position, both directions', () => {
  for (let cut = 0; cut <= REQ.length; cut++) {
    const c = new Capture();
    const rcut = cut % (RES.length + 1);
    const { xs, stage } = run([...c.split(0, REQ, [cut]), ...c.split(1, RES, [rcut])]);
    assert.equal(xs.length, 1, `cut ${cut}`);
    const x = xs[0]!;
    assert.equal(x.protocol, 'http1');
    assert.equal(x.role, 'client');
    assert.equal(x.request?.method, 'POST');
    assert.equal(x.request?.path, '/v1/things?x=1');
    assert.equal(x.request?.authority, 'api.example.test');
    assert.equal(x.request?.body.toString(), '{"hello":"wörld"}');
    assert.equal(x.response?.status, 200);
    assert.equal(x.response?.body.toString(), '{"ok":true}');
    assert.equal(x.incomplete, false);
    assert.deepEqual(stage.stats().errors, {});
  }
});

test('every byte in its own SSL call', () => {
  const c = new Capture();
  const cuts = (b: Buffer) => Array.from({ length: b.length }, (_, i) => i);
  const { xs } = run([...c.split(0, REQ, cuts(REQ)), ...c.split(1, RES, cuts(RES))]);
  assert.equal(xs.length, 1);
  assert.equal(xs[0]!.response?.body.toString(), '{"ok":true}');
});

test('keep-alive and pipelining: many messages in one read, HEAD/204/304/1xx', () => {
  const c = new Capture();
  const reqs = Buffer.concat([
    httpRequest('GET', '/a', { Host: 'h' }),
    httpRequest('HEAD', '/b', { Host: 'h' }),
    httpRequest('POST', '/c', { Host: 'h', Expect: '100-continue' }, 'body-c'),
    httpRequest('DELETE', '/d', { Host: 'h' }),
    httpRequest('GET', '/e', { Host: 'h' }),
  ]);
  const ress = Buffer.concat([
    httpResponse(200, {}, 'AAA'),
    httpResponse(200, { 'Content-Length': '12345' }), // HEAD: no body despite the length
    Buffer.from('HTTP/1.1 100 Continue\r\n\r\n'),
    httpResponse(201, { 'Transfer-Encoding': 'chunked' }, chunked(['he', 'llo'])),
    httpResponse(204, {}),
    httpResponse(304, { 'Content-Length': '99' }),
  ]);
  const { xs, stage } = run([...c.call(0, reqs), ...c.call(1, ress)]);
  assert.deepEqual(xs.map((x) => [x.request?.path, x.response?.status, x.response?.body.toString()]), [
    ['/a', 200, 'AAA'],
    ['/b', 200, ''],
    ['/c', 201, 'hello'],
    ['/d', 204, ''],
    ['/e', 304, ''],
  ]);
  assert.equal(xs[2]!.request?.body.toString(), 'body-c');
  assert.ok(xs.every((x) => !x.incomplete));
  assert.deepEqual(stage.stats().errors, {});
});

test('chunked with extensions and trailers; read-until-close body with Connection: close', () => {
  const c = new Capture();
  const res1 = Buffer.from('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n');
  const res2 = Buffer.from('HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil the end');
  const { xs } = run([
    ...c.call(0, httpRequest('GET', '/1', { Host: 'h' })),
    ...c.call(1, res1),
    ...c.call(0, httpRequest('GET', '/2', { Host: 'h', Connection: 'close' })),
    ...c.split(1, res2, [20, 40, 45]),
  ]);
  assert.equal(xs.length, 2);
  assert.equal(xs[0]!.response?.body.toString(), 'hello world');
  assert.equal(xs[1]!.response?.body.toString(), 'until the end');
  assert.equal(xs[1]!.incomplete, false);
});

test('interleaved connections stay apart', () => {
  const a = new Capture(10, 0x1n, 3);
  const b = new Capture(10, 0x2n, 4);
  const ev: RawEvent[] = [];
  const ra = httpRequest('POST', '/a', { Host: 'a' }, 'A'.repeat(5000));
  const rb = httpRequest('POST', '/b', { Host: 'b' }, 'B'.repeat(7000));
  const ea = a.split(0, ra, [100, 3000]);
  const eb = b.split(0, rb, [50, 4000, 6000]);
  for (let i = 0; i < Math.max(ea.length, eb.length); i++) {
    if (ea[i]) ev.push(ea[i]!);
    if (eb[i]) ev.push(eb[i]!);
  }
  ev.push(...b.call(1, httpResponse(200, {}, 'rb')), ...a.call(1, httpResponse(201, {}, 'ra')));
  const { xs } = run(ev);
  const byPath = new Map(xs.map((x) => [x.request?.path, x]));
  assert.equal(byPath.get('/a')?.request?.body.toString(), 'A'.repeat(5000));
  assert.equal(byPath.get('/a')?.response?.status, 201);
  assert.equal(byPath.get('/b')?.request?.body.toString(), 'B'.repeat(7000));
  assert.equal(byPath.get('/b')?.response?.body.toString(), 'rb');
  assert.notEqual(byPath.get('/a')?.stream.key, byPath.get('/b')?.stream.key);
});

test('out-of-order chunks within a call are put back in order', () => {
  const c = new Capture();
  const big = httpRequest('POST', '/big', { Host: 'h' }, Buffer.alloc(12000, 'z'));
  const { xs } = run([...c.call(0, big, { reorder: true }), ...c.call(1, RES)]);
  assert.equal(xs[0]!.request?.body.length, 12000);
  assert.equal(xs[0]!.request?.truncated, false);
});

test('a truncated SSL call becomes a gap: body marked truncated, next exchange still parsed', () => {
  const c = new Capture(1, 1n, 1, 16384);
  const body = Buffer.alloc(40000, 'q');
  const { xs, stage } = run([
    ...c.call(0, httpRequest('POST', '/up', { Host: 'h' }, body)), // 40 KiB call, 16 KiB captured
    ...c.call(1, httpResponse(200, {}, 'fine')),
    ...c.call(0, httpRequest('GET', '/next', { Host: 'h' })),
    ...c.call(1, httpResponse(200, {}, 'next')),
  ], { tlsCaptureCap: 16384 }); // the cap the kernel was given (ar_config.tls_cap)
  assert.equal(xs.length, 2);
  assert.equal(xs[0]!.request?.truncated, true);
  assert.equal(xs[0]!.request?.wireBytes, 40000);
  assert.equal(xs[0]!.response?.body.toString(), 'fine');
  assert.equal(xs[1]!.request?.path, '/next');
  assert.equal(xs[1]!.response?.body.toString(), 'next');
  assert.ok((stage.stats().drops['stream.call_truncated'] ?? 0) >= 1);
});

test('a lost chunk in the middle of a call is a counted gap', () => {
  const c = new Capture();
  const { xs, stage } = run([...c.call(0, httpRequest('POST', '/x', { Host: 'h' }, Buffer.alloc(10000, 'a')), { dropChunk: 1 }), ...c.call(1, RES)]);
  assert.equal(xs.length, 1);
  assert.equal(xs[0]!.request?.truncated, true);
  assert.equal(stage.stats().drops['stream.chunk_missing'], 1);
});

test('garbage before and between messages: resync on the next start line', () => {
  const c = new Capture();
  const { xs, stage } = run([
    ...c.call(0, Buffer.from('\x16\x03\x01garbage\x00\xff no http here\r\n')),
    ...c.call(0, Buffer.concat([Buffer.from('more junk '), httpRequest('GET', '/ok', { Host: 'h' })])),
    ...c.call(1, Buffer.concat([Buffer.from('\x00\x01junk'), RES])),
  ]);
  assert.equal(xs.length, 1);
  assert.equal(xs[0]!.request?.path, '/ok');
  assert.equal(xs[0]!.response?.status, 200);
  assert.ok(Object.keys(stage.stats().errors).length > 0);
});

test('content-encoding gzip, deflate (wrapped and raw), br, zstd', async () => {
  const text = JSON.stringify({ msg: 'é'.repeat(500) });
  const cases: Array<[string, Buffer]> = [
    ['gzip', zlib.gzipSync(text)],
    ['deflate', zlib.deflateSync(text)],
    ['deflate', zlib.deflateRawSync(text)],
    ['br', zlib.brotliCompressSync(text)],
    ['gzip, br', zlib.brotliCompressSync(zlib.gzipSync(text))],
  ];
  const zstdText = readFileSync(join(FIX, 'zstd-text.json'), 'utf8');
  cases.push(['zstd', readFileSync(join(FIX, 'zstd-text.json.zst'))]);
  for (const [enc, wire] of cases) {
    const c = new Capture();
    const { xs } = run([...c.call(0, httpRequest('GET', '/', { Host: 'h' })), ...c.split(1, httpResponse(200, { 'Content-Encoding': enc }, wire), [30, 77])]);
    const expect = enc === 'zstd' ? zstdText : text;
    assert.equal(xs[0]!.response?.body.toString(), expect, enc);
    assert.equal(xs[0]!.response?.wireBytes, wire.length);
    assert.equal(xs[0]!.response?.decodedBytes, Buffer.byteLength(expect));
  }
});

test('zstd compression bomb (1 GiB of zeros, `zstd -19`, 33 KB) stops at the decode cap', () => {
  const bomb = readFileSync(join(FIX, 'zeros-1GiB.zst'));
  const c = new Capture(1, 1n, 1, 1 << 30);
  const { xs, stage } = run([...c.call(0, httpRequest('GET', '/', { Host: 'h' })), ...c.call(1, httpResponse(200, { 'Content-Encoding': 'zstd' }, bomb))], { maxDecodedBytes: 4 * 1024 * 1024 });
  assert.equal(xs[0]!.response?.truncated, true);
  assert.equal(xs[0]!.response?.body.length, 4 * 1024 * 1024);
  assert.ok(xs[0]!.response!.body.every((b) => b === 0));
  assert.equal(stage.stats().drops['protocol.decompression_cap'], 1);
});

test('brotli bomb stops at the decode cap', () => {
  const bomb = zlib.brotliCompressSync(Buffer.alloc(256 * 1024 * 1024), { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 1 } });
  const c = new Capture(1, 1n, 1, 1 << 30);
  const { xs, stage } = run([...c.call(0, httpRequest('GET', '/', { Host: 'h' })), ...c.call(1, httpResponse(200, { 'Content-Encoding': 'br' }, bomb))], { maxDecodedBytes: 1024 * 1024 });
  assert.equal(xs[0]!.response?.truncated, true);
  assert.ok(xs[0]!.response!.body.length <= 1024 * 1024);
  assert.equal(stage.stats().drops['protocol.decompression_cap'], 1);
});

test('compression bomb: 1 GiB of zeros gzip-compressed stops at the decode cap', () => {
  // 64 gzip members of 16 MiB of zeros each: a valid 1 GiB gzip stream of about 1 MB.
  const member = zlib.gzipSync(Buffer.alloc(16 * 1024 * 1024), { level: 9 });
  const bomb = Buffer.concat(Array.from({ length: 64 }, () => member));
  assert.ok(bomb.length < 2 * 1024 * 1024, `bomb is ${bomb.length} bytes`);
  const c = new Capture(1, 1n, 1, 1 << 30);
  const before = process.memoryUsage().arrayBuffers;
  const { xs, stage } = run([...c.call(0, httpRequest('GET', '/', { Host: 'h' })), ...c.call(1, httpResponse(200, { 'Content-Encoding': 'gzip' }, bomb))], { maxDecodedBytes: 8 * 1024 * 1024 });
  const grew = process.memoryUsage().arrayBuffers - before;
  assert.equal(xs[0]!.response?.truncated, true);
  assert.ok(xs[0]!.response!.body.length <= 8 * 1024 * 1024);
  assert.equal(stage.stats().drops['protocol.decompression_cap'], 1);
  assert.ok(grew < 256 * 1024 * 1024, `memory grew by ${grew}`);
});

test('huge body: kept up to the body cap, true size counted', () => {
  const c = new Capture(1, 1n, 1, 1 << 30);
  const body = Buffer.alloc(5 * 1024 * 1024, 'h');
  const { xs } = run([...c.call(0, httpRequest('POST', '/huge', { Host: 'h' }, body)), ...c.call(1, RES)], { maxBodyBytes: 1024 * 1024 });
  assert.equal(xs[0]!.request?.body.length, 1024 * 1024);
  assert.equal(xs[0]!.request?.wireBytes, body.length);
  assert.equal(xs[0]!.request?.truncated, true);
  assert.equal(xs[0]!.response?.body.toString(), '{"ok":true}');
});

test('invalid UTF-8 and binary bodies pass through untouched', () => {
  const bad = Buffer.from([0xc3, 0x28, 0xa0, 0xa1, 0xe2, 0x28, 0xa1, 0xf0, 0x90, 0x28, 0xbc, 0xff, 0xfe]);
  const c = new Capture();
  const { xs } = run([...c.call(0, httpRequest('POST', '/bin', { Host: 'h', 'Content-Type': 'application/json' }, bad)), ...c.call(1, httpResponse(200, { 'Content-Type': 'text/event-stream' }, bad))]);
  assert.deepEqual(xs[0]!.request?.body, bad);
  assert.deepEqual(xs[0]!.response?.body, bad);
});

test('streams close on socket close, process exit and idle timeout; unanswered requests are incomplete', () => {
  const c1 = new Capture(1, 1n, 9);
  const c2 = new Capture(2, 2n, 9);
  const c3 = new Capture(3, 3n, 9);
  const base = { op: 0, version: 1, tid: 0, cgroupId: 1n };
  const xs: string[] = [];
  const { stage } = run([]);
  stage.onExchange((x) => xs.push(`${x.request?.path}:${x.incomplete}`));
  for (const e of c1.call(0, httpRequest('GET', '/one', { Host: 'h' }))) stage.push(e);
  for (const e of c2.call(0, httpRequest('GET', '/two', { Host: 'h' }))) stage.push(e);
  for (const e of c3.call(0, httpRequest('GET', '/three', { Host: 'h' }))) stage.push(e);
  assert.equal(stage.openStreams, 3);
  stage.push({ ...base, kind: 'fd.io', pid: 1, ktimeNs: 5_000_000n, fd: 9, fdKind: 2, readBytes: 0n, writeBytes: 0n, readCalls: 0, writeCalls: 0, reason: 1, firstNs: 0n, lastNs: 0n, ino: 0n });
  assert.deepEqual(xs, ['/one:true']);
  stage.push({ ...base, kind: 'proc.exit', pid: 2, ktimeNs: 5_000_001n, ppid: 1, exitCode: 0, isThread: false });
  assert.deepEqual(xs, ['/one:true', '/two:true']);
  stage.tick(5_000_001n + stage.options.idleTimeoutNs + 1n);
  assert.deepEqual(xs, ['/one:true', '/two:true', '/three:true']);
  assert.equal(stage.openStreams, 0);
});

test('per-stream buffer cap: counted drop and reset, later messages parse again', () => {
  const c = new Capture(1, 1n, 1, 1 << 30);
  const huge = httpRequest('POST', '/x', { Host: 'h' }, Buffer.alloc(300_000, 'a'));
  const { xs, stage } = run([
    ...c.split(0, huge, [100_000, 200_000]),
    ...c.call(0, httpRequest('GET', '/after', { Host: 'h' })),
    ...c.call(1, RES),
  ], { streamBufferCap: 128 * 1024, maxBodyBytes: 1 << 20 });
  assert.ok((stage.stats().drops['stream.stream_buffer_cap'] ?? 0) >= 1);
  assert.equal(xs.at(-1)?.request?.path, '/after');
  assert.equal(xs.at(-1)?.response?.status, 200);
});

test('a stream that ends inside a response body yields an incomplete, truncated exchange', () => {
  const c = new Capture();
  const res = httpResponse(200, { 'Content-Type': 'text/event-stream', 'Transfer-Encoding': 'chunked' }, chunked(['data: {"a":1}\n\n', 'data: {"a":2}\n\n']));
  const { xs } = run([...c.call(0, REQ), ...c.call(1, res.subarray(0, res.length - 20))]);
  assert.equal(xs.length, 1);
  assert.equal(xs[0]!.incomplete, true);
  assert.equal(xs[0]!.response?.truncated, true);
  assert.deepEqual(xs[0]!.response?.sse, [{ data: '{"a":1}' }]);
});

test('a traced server: requests arrive on reads, answers leave on writes', () => {
  const c = new Capture();
  const { xs } = run([...c.call(1, REQ), ...c.call(0, RES)]);
  assert.equal(xs.length, 1);
  assert.equal(xs[0]!.role, 'server');
  assert.equal(xs[0]!.request?.path, '/v1/things?x=1');
  assert.equal(xs[0]!.response?.status, 200);
});

test('headers arriving one byte per call (1000 header lines) parse the same', () => {
  const c = new Capture();
  const lines = Array.from({ length: 1000 }, (_, i) => `X-H${i}: v${i}\r\n`).join('');
  const req = Buffer.from(`GET /many HTTP/1.1\r\nHost: h\r\n${lines}\r\n`);
  const { xs } = run([...c.split(0, req, Array.from({ length: req.length }, (_, i) => i)), ...c.call(1, RES)]);
  assert.equal(xs[0]!.request?.headers.length, 1001);
  assert.equal(xs[0]!.request?.headers.at(-1)?.[1], 'v999');
});
