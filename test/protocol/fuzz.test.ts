import test from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import fc from 'fast-check';
import { Capture, chunked, httpRequest, httpResponse, pipeEvent, run } from './capture.js';
import { h2Request, withH2cServer } from './h2-capture.js';
import { NdjsonFramer, classifyJsonRpc, parseJsonRpcBody } from '../../src/protocol/jsonrpc.js';
import type { RawEvent } from '../../src/contracts/raw-event.js';

/**
 * Property tests: on arbitrary or mutated input the parsers never throw, never
 * hang (each run is synchronous and bounded by its input), and hold no more
 * than the configured caps.
 */
const CAPS = { streamBufferCap: 256 * 1024, maxBodyBytes: 64 * 1024, maxHeaderBytes: 16 * 1024, totalBufferCap: 1024 * 1024 };

function feed(events: RawEvent[]): void {
  const { stage } = run([], CAPS);
  let peak = 0;
  for (const e of events) {
    stage.push(e);
    peak = Math.max(peak, stage.bufferedBytes);
  }
  stage.flush();
  assert.ok(peak <= CAPS.totalBufferCap, `held ${peak}`);
  assert.equal(stage.stats().errors['protocol.internal'], undefined);
  assert.equal(stage.openStreams, 0);
}

const seeds = [
  httpRequest('POST', '/v1/chat/completions', { Host: 'h', 'Content-Type': 'application/json' }, '{"model":"m","messages":[{"role":"user","content":"x"}]}'),
  httpResponse(200, { 'Transfer-Encoding': 'chunked', 'Content-Type': 'text/event-stream' }, chunked(['data: {"choices":[{"index":0,"delta":{"content":"a"}}]}\n\n', 'data: [DONE]\n\n'])),
  httpResponse(200, { 'Content-Encoding': 'gzip' }, Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0])),
  httpRequest('GET', '/', { Host: 'h' }),
];

const mutated = fc
  .tuple(fc.constantFrom(...seeds), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }), fc.array(fc.nat(), { maxLength: 6 }))
  .map(([seed, flips, cuts]) => {
    const b = Buffer.from(seed);
    for (const [at, v] of flips) if (b.length > 0) b[at % b.length] = v;
    return { b, cuts: cuts.map((c) => c % (b.length + 1)) };
  });

test('fuzz: HTTP/1.1 on mutated messages, random splits, random directions', () => {
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.constantFrom<0 | 1>(0, 1), mutated), { maxLength: 10 }), (parts) => {
      const c = new Capture(1, 1n, 1, 4096);
      feed(parts.flatMap(([dir, { b, cuts }]) => c.split(dir, b, cuts)));
    }),
    { numRuns: 1500 },
  );
});

test('fuzz: random bytes on TLS streams and pipes', () => {
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.constantFrom<0 | 1>(0, 1), fc.uint8Array({ maxLength: 3000 }), fc.boolean()), { maxLength: 12 }), (parts) => {
      const c = new Capture(2, 2n, 2, 2048);
      const ev: RawEvent[] = [];
      let t = 1n;
      for (const [dir, bytes, pipe] of parts) {
        if (pipe) ev.push(pipeEvent(3, 77n, dir, Buffer.from(bytes), (t += 1n)));
        else ev.push(...c.call(dir, Buffer.from(bytes)));
      }
      feed(ev);
    }),
    { numRuns: 800 },
  );
});

test('fuzz: HTTP/2 real capture with flipped bytes, truncations and random splits', async () => {
  const { taps } = await withH2cServer(
    (req, res) => {
      req.resume();
      req.on('end', () => res.end('answer'));
    },
    async (port) => {
      const s = http2.connect(`http://127.0.0.1:${port}`);
      await Promise.all([h2Request(s, { ':method': 'POST', ':path': '/a', 'x-h': 'v' }, Buffer.alloc(3000, 'b')), h2Request(s, { ':method': 'GET', ':path': '/b' })]);
      s.close();
    },
  );
  const tap = taps[0]!;
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }), fc.nat(), fc.integer({ min: 1, max: 64 * 1024 }), (flips, seed, cap) => {
      const parts = tap.map((t) => ({ dir: t.dir, buf: Buffer.from(t.buf) }));
      for (const [at, v] of flips) {
        const p = parts[at % parts.length]!;
        if (p.buf.length > 0) p.buf[(at >> 3) % p.buf.length] = v;
      }
      const c = new Capture(4, 4n, 4, cap);
      feed(parts.flatMap((p, i) => c.split(p.dir, p.buf, [(seed + i * 7919) % (p.buf.length + 1)])));
    }),
    { numRuns: 1500 },
  );
});

test('fuzz: JSON-RPC classification and NDJSON framing never throw and account for every line', () => {
  const msg = fc.oneof(
    fc.record({ jsonrpc: fc.constant('2.0'), id: fc.oneof(fc.integer(), fc.string(), fc.constant(null)), method: fc.string() }),
    fc.record({ jsonrpc: fc.constant('2.0'), method: fc.string(), params: fc.jsonValue() }),
    fc.record({ jsonrpc: fc.constant('2.0'), id: fc.integer(), result: fc.jsonValue() }),
    fc.jsonValue(),
  );
  fc.assert(
    fc.property(fc.array(msg, { maxLength: 8 }), fc.boolean(), (msgs, batch) => {
      const body = Buffer.from(JSON.stringify(batch ? msgs : msgs[0] ?? null));
      const r = parseJsonRpcBody(body);
      assert.ok(r.messages.length + r.invalid >= (batch ? msgs.length : 1) || (batch && msgs.length === 0));
      classifyJsonRpc(msgs, 10);
    }),
    { numRuns: 2000 },
  );
  fc.assert(
    fc.property(fc.array(fc.string(), { maxLength: 20 }), fc.array(fc.nat(), { maxLength: 5 }), (lines, cuts) => {
      const text = Buffer.from(lines.map((l) => l.replace(/\n/g, ' ') + '\n').join(''));
      const got: string[] = [];
      let bad = 0;
      const f = new NdjsonFramer(64, (l) => got.push(l.toString()), () => bad++);
      let prev = 0;
      for (const c of [...cuts.map((x) => x % (text.length + 1))].sort((a, b) => a - b).concat(text.length)) {
        f.push(text.subarray(prev, c));
        prev = c;
      }
      f.end();
      const expect = lines.map((l) => l.replace(/\n/g, ' '));
      assert.equal(got.length + bad, expect.length);
      assert.deepEqual(got, expect.filter((l) => Buffer.byteLength(l) <= 64));
      assert.ok(f.buffered() === 0);
    }),
    { numRuns: 2000 },
  );
});
