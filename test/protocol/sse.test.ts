import test from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { SseParser, parseSse } from '../../src/protocol/sse.js';
import type { SseEvent } from '../../src/contracts/exchange.js';

const parse = (s: string | Buffer) => parseSse(Buffer.isBuffer(s) ? s : Buffer.from(s)).events;

test('WHATWG event stream interpretation', () => {
  // Examples from the HTML standard, §9.2.6.
  assert.deepEqual(parse('data: YHOO\ndata: +2\ndata: 10\n\n'), [{ data: 'YHOO\n+2\n10' }]);
  assert.deepEqual(parse(': test stream\n\ndata: first event\nid: 1\n\ndata:second event\nid\n\ndata:  third event\n\n'), [
    { data: 'first event', id: '1' },
    { data: 'second event', id: '' },
    { data: ' third event', id: '' },
  ]);
  assert.deepEqual(parse('data\n\ndata\ndata\n\ndata:'), [{ data: '' }, { data: '\n' }]);
  assert.deepEqual(parse('data:test\n\ndata: test\n\n'), [{ data: 'test' }, { data: 'test' }]);
  // CR and CRLF line ends, a BOM, event names, events without data are not dispatched.
  assert.deepEqual(parse('\ufeffevent: a\r\ndata: 1\r\n\r\nevent: b\rdata: 2\r\revent: none\n\n'), [
    { event: 'a', data: '1' },
    { event: 'b', data: '2' },
  ]);
  assert.deepEqual(parse('retry: 10\nunknown: x\ndata: ok\n\n'), [{ data: 'ok' }]);
});

test('SSE fed in every split (CRLF and multi-byte UTF-8 across chunks) equals the whole', () => {
  const text = Buffer.from('event: message_start\r\ndata: {"t":"héllo ✓"}\r\n\r\n: ping\r\n\r\ndata: a\rdata: b\r\r');
  const whole = parse(text);
  assert.equal(whole.length, 2);
  for (let i = 0; i <= text.length; i++) {
    const out: SseEvent[] = [];
    const p = new SseParser((e) => out.push(e));
    p.push(text.subarray(0, i));
    p.push(text.subarray(i));
    p.end();
    assert.deepEqual(out, whole, `split ${i}`);
  }
});

test('fuzz: SSE parser never throws, joins like the spec, bounded by its input', () => {
  fc.assert(
    fc.property(fc.array(fc.oneof(fc.string(), fc.constantFrom('\n', '\r', '\r\n', 'data:', 'data: x', 'event: e', 'id: 1', ':c')), { maxLength: 60 }), fc.integer({ min: 0, max: 50 }), (parts, cut) => {
      const buf = Buffer.from(parts.join(''));
      const out: SseEvent[] = [];
      const p = new SseParser((e) => out.push(e));
      p.push(buf.subarray(0, cut));
      p.push(buf.subarray(cut));
      p.end();
      assert.deepEqual(out, parse(buf));
      const total = out.reduce((n, e) => n + e.data.length, 0);
      assert.ok(total <= buf.length);
    }),
    { numRuns: 2000 },
  );
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 500 }), (bytes) => {
      parse(Buffer.from(bytes));
    }),
    { numRuns: 2000 },
  );
});
