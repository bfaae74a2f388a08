import test from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import zlib from 'node:zlib';
import { spawnSync } from 'node:child_process';
import { Capture, run } from './capture.js';
import { type Tap, curl, h2Request, tapEvents, withH2cServer } from './h2-capture.js';
import { requireTool } from '../helpers/privileges.js';

function handler(req: http2.Http2ServerRequest, res: http2.Http2ServerResponse): void {
  const parts: Buffer[] = [];
  req.on('data', (d: Buffer) => parts.push(d));
  req.on('end', () => {
    const body = Buffer.concat(parts);
    if (req.url === '/gzip') {
      res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
      res.end(zlib.gzipSync(JSON.stringify({ echo: body.length })));
    } else if (req.url === '/sse') {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: one\n\n');
      setTimeout(() => res.end('event: last\ndata: two\n\n'), 5);
    } else {
      res.writeHead(201, { 'content-type': 'text/plain', 'x-len': String(body.length) });
      res.end(`got ${body.length} bytes for ${req.url}`);
    }
  });
}

async function capture(): Promise<{ taps: Tap[]; bigBody: Buffer }> {
  const bigBody = Buffer.from(JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'x'.repeat(60_000) }] }));
  const { taps } = await withH2cServer(handler, async (port) => {
    const s = http2.connect(`http://127.0.0.1:${port}`);
    const big = 'v'.repeat(20_000); // a header block larger than one frame: HEADERS + CONTINUATION
    const rs = await Promise.all([
      h2Request(s, { ':method': 'GET', ':path': '/a', 'x-custom': 'same' }),
      h2Request(s, { ':method': 'POST', ':path': '/v1/chat/completions', 'content-type': 'application/json' }, bigBody),
      h2Request(s, { ':method': 'POST', ':path': '/gzip', 'x-big': big }, Buffer.from('abc')),
      h2Request(s, { ':method': 'GET', ':path': '/sse' }),
    ]);
    // Same headers again: HPACK now refers to dynamic-table entries.
    rs.push(await h2Request(s, { ':method': 'GET', ':path': '/a', 'x-custom': 'same' }));
    assert.equal(rs[1]!.status, 201);
    s.close();
    return rs;
  });
  return { taps, bigBody };
}

test('HTTP/2 (h2c) captured from node:http2: multiplexed streams, DATA reassembly, CONTINUATION, HPACK dynamic table', async () => {
  const { taps, bigBody } = await capture();
  assert.equal(taps.length, 1);
  const { xs, stage } = run(tapEvents(taps[0]!));
  assert.deepEqual(stage.stats().errors, {});
  assert.equal(xs.length, 5);
  assert.ok(xs.every((x) => x.protocol === 'http2' && !x.incomplete));
  const by = (p: string) => xs.filter((x) => x.request?.path === p);
  const chat = by('/v1/chat/completions')[0]!;
  assert.equal(chat.request?.method, 'POST');
  assert.equal(chat.request?.authority, `127.0.0.1:${chat.request?.authority?.split(':')[1]}`);
  assert.deepEqual(chat.request?.body, bigBody);
  assert.equal(chat.response?.status, 201);
  assert.equal(chat.response?.body.toString(), `got ${bigBody.length} bytes for /v1/chat/completions`);
  assert.equal(chat.llm?.provider, 'openai');
  const gz = by('/gzip')[0]!;
  assert.equal(gz.request?.headers.find((h) => h[0] === 'x-big')?.[1].length, 20_000);
  assert.deepEqual(JSON.parse(gz.response!.body.toString()), { echo: 3 });
  const sse = by('/sse')[0]!;
  assert.deepEqual(sse.response?.sse, [{ data: 'one' }, { event: 'last', data: 'two' }]);
  const as = by('/a');
  assert.equal(as.length, 2);
  for (const a of as) assert.equal(a.request?.headers.find((h) => h[0] === 'x-custom')?.[1], 'same');
});

test('HTTP/2 capture split at every position and re-chunked into single bytes', async () => {
  const { taps } = await withH2cServer(handler, async (port) => {
    const s = http2.connect(`http://127.0.0.1:${port}`);
    await h2Request(s, { ':method': 'POST', ':path': '/p' }, Buffer.from('hello'));
    await h2Request(s, { ':method': 'GET', ':path': '/q' });
    s.close();
  });
  const tap = taps[0]!;
  const up = Buffer.concat(tap.filter((t) => t.dir === 0).map((t) => t.buf));
  const down = Buffer.concat(tap.filter((t) => t.dir === 1).map((t) => t.buf));
  for (let cut = 0; cut <= up.length; cut++) {
    const c = new Capture();
    // Client bytes first (split at `cut`), then the server bytes split at a matching point.
    const { xs, stage } = run([...c.split(0, up, [cut]), ...c.split(1, down, [cut % down.length])]);
    assert.deepEqual(stage.stats().errors, {}, `cut ${cut}`);
    assert.deepEqual(xs.map((x) => [x.request?.path, x.response?.status, x.response?.body.toString()]), [
      ['/p', 201, 'got 5 bytes for /p'],
      ['/q', 201, 'got 0 bytes for /q'],
    ]);
  }
  const c = new Capture();
  const bytes = (b: Buffer, dir: 0 | 1) => Array.from(b).flatMap((x) => c.call(dir, Buffer.from([x])));
  const { xs } = run([...bytes(up, 0), ...bytes(down, 1)]);
  assert.equal(xs.length, 2);
});

test('HTTP/2 framing from curl --http2-prior-knowledge decodes the same way', async (t) => {
  const ok = spawnSync('curl', ['--version']).stdout?.toString().includes('HTTP2') ?? false;
  if (!requireTool(t, ok, 'curl with HTTP/2 (apt: curl)')) return;
  const { taps, result } = await withH2cServer(handler, async (port) =>
    curl(['-s', '--http2-prior-knowledge', '-H', 'Authorization: Bearer t0k', '--data-binary', '{"k":1}', `http://127.0.0.1:${port}/curl/path?q=1`]),
  );
  assert.equal(result.out, 'got 7 bytes for /curl/path?q=1');
  const { xs, stage } = run(tapEvents(taps[0]!));
  assert.deepEqual(stage.stats().errors, {});
  assert.equal(xs.length, 1);
  assert.equal(xs[0]!.request?.method, 'POST');
  assert.equal(xs[0]!.request?.path, '/curl/path?q=1');
  assert.equal(xs[0]!.request?.headers.find((h) => h[0] === 'user-agent')?.[1].startsWith('curl/'), true);
  assert.equal(xs[0]!.request?.body.toString(), '{"k":1}');
  assert.equal(xs[0]!.response?.body.toString(), result.out);
});

/** Offsets of the frames in a client byte stream (after the preface). */
function frames(b: Buffer): Array<{ off: number; len: number; type: number; sid: number }> {
  const out = [];
  for (let off = 24; off + 9 <= b.length; ) {
    const len = b.readUIntBE(off, 3);
    out.push({ off, len, type: b[off + 3]!, sid: b.readUInt32BE(off + 5) & 0x7fffffff });
    off += 9 + len;
  }
  return out;
}

test('HTTP/2 gaps: inside DATA the connection stays in sync; inside HEADERS it is dropped and counted', async () => {
  const { taps } = await withH2cServer(handler, async (port) => {
    const s = http2.connect(`http://127.0.0.1:${port}`);
    await h2Request(s, { ':method': 'POST', ':path': '/big' }, Buffer.alloc(40_000, 'd'));
    await h2Request(s, { ':method': 'GET', ':path': '/after' });
    s.close();
  });
  const up = Buffer.concat(taps[0]!.filter((t) => t.dir === 0).map((t) => t.buf));
  const down = Buffer.concat(taps[0]!.filter((t) => t.dir === 1).map((t) => t.buf));
  const fs = frames(up);
  const data = fs.find((f) => f.type === 0 && f.len > 6000)!;
  const p = data.off + 9 + 100;
  // One SSL call of 5000 bytes inside the DATA payload of which the kernel captured 100.
  const c = new Capture(1, 1n, 1, 1 << 30);
  const ev = [...c.call(0, up.subarray(0, p)), ...c.call(0, up.subarray(p, p + 5000), { cap: 100 }), ...c.call(0, up.subarray(p + 5000)), ...c.call(1, down)];
  const { xs, stage } = run(ev);
  assert.deepEqual(stage.stats().errors, {});
  assert.deepEqual(xs.map((x) => x.request?.path), ['/big', '/after']);
  assert.equal(xs[0]!.request?.truncated, true);
  assert.equal(xs[0]!.request?.wireBytes, 40_000);
  assert.equal(xs[0]!.request?.body.length, 40_000 - 4900);
  assert.equal(xs[1]!.response?.body.toString(), 'got 0 bytes for /after');
  // The same loss inside the second request's HEADERS frame: HPACK state is gone.
  const hdr = fs.filter((f) => f.type === 1)[1]!;
  const c2 = new Capture(1, 1n, 1, 1 << 30);
  const ev2 = [...c2.call(0, up.subarray(0, hdr.off + 10)), ...c2.call(0, up.subarray(hdr.off + 10), { cap: 1 }), ...c2.call(1, down)];
  const r2 = run(ev2);
  assert.equal(r2.stage.stats().errors['protocol.h2_gap'], 1);
  assert.ok(r2.xs.every((x) => x.request?.path !== '/after'));
  // Garbage after the preface: never throws, counted.
  const g = new Capture();
  const r = run([...g.call(0, Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n')), ...g.call(0, Buffer.from('\x00\x00\x05\x01\x05\x00\x00\x00\x01\xff\xff\xff\xff\xff', 'latin1'))]);
  assert.equal(Object.keys(r.stage.stats().errors).filter((k) => k.startsWith('protocol.h2_hpack_')).length, 1);
});

test('HTTP/2 gap past the DATA frame (one TLS write of several frames above the cap): resynchronised on the next write, true size from content-length, counted', async () => {
  const { taps } = await withH2cServer(handler, async (port) => {
    const s = http2.connect(`http://127.0.0.1:${port}`);
    await h2Request(s, { ':method': 'POST', ':path': '/big', 'content-length': '40000' }, Buffer.alloc(40_000, 'd'));
    await h2Request(s, { ':method': 'GET', ':path': '/after' });
    s.close();
  });
  const up = Buffer.concat(taps[0]!.filter((t) => t.dir === 0).map((t) => t.buf));
  const down = Buffer.concat(taps[0]!.filter((t) => t.dir === 1).map((t) => t.buf));
  const fs = frames(up);
  const data = fs.filter((f) => f.type === 0 && f.sid === fs.find((h) => h.type === 1)!.sid);
  assert.ok(data.length >= 3, `the body spans several DATA frames (${data.length})`);
  const first = data[0]!;
  const last = data.at(-1)!;
  const end = last.off + 9 + last.len; // the next frame header starts here
  // One SSL call from inside the first DATA frame through the last one (END_STREAM included), cut at 100 bytes.
  const call = (cutEnd: number) => {
    const c = new Capture(1, 1n, 1, 1 << 30);
    const p = first.off + 9 + 50;
    return run([...c.call(0, up.subarray(0, p)), ...c.call(0, up.subarray(p, cutEnd), { cap: 100 }), ...c.call(0, up.subarray(cutEnd)), ...c.call(1, down)]);
  };
  const ok = call(end);
  assert.deepEqual(ok.stage.stats().errors, {}, 'no desynchronisation');
  assert.equal(ok.stage.stats().drops['protocol.h2_frames_unseen'], 1);
  assert.deepEqual(ok.xs.map((x) => x.request?.path), ['/big', '/after']);
  assert.equal(ok.xs[0]!.request?.truncated, true);
  assert.equal(ok.xs[0]!.request?.wireBytes, 40_000, 'the declared length, not the unseen bytes with their frame headers');
  assert.equal(ok.xs[0]!.response?.body.toString(), 'got 40000 bytes for /big');
  assert.equal(ok.xs[1]!.response?.body.toString(), 'got 0 bytes for /after');
  // The next write does not start on a frame header (the cut ends inside a frame): counted, never a crash or a wrong request.
  const bad = call(end - 7);
  assert.equal(bad.stage.stats().errors['protocol.h2_resync_failed'], 1);
  assert.ok(bad.xs.every((x) => x.request?.path !== '/after'));
});
