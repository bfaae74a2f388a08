/**
 * The event boundary's well-formedness pass (src/event/well-formed.ts): lone surrogates become U+FFFD
 * and are counted; an object it rebuilds keeps every member, "__proto__" included (an own key
 * JSON.parse produces and an agent controls through tool argument names).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import canonicalize from 'canonicalize';
import { wellFormed } from '../../src/event/well-formed.js';
import { canonicalBytes } from '../../src/seal/canonical.js';
import { harness, referenceSession } from './scenario.js';

test('a "__proto__" member survives the rebuild a lone surrogate causes, as an own key, and pollutes nothing', () => {
  const v = JSON.parse('{"a\\ud800": 1, "__proto__": {"polluted": true}, "z": "x"}') as Record<string, unknown>;
  const out = wellFormed(v) as Record<string, unknown>;
  assert.notEqual(out, v, 'rebuilt');
  assert.deepEqual(Object.keys(out), ['a\ufffd', '__proto__', 'z']);
  assert.equal(Object.getPrototypeOf(out), Object.prototype);
  assert.deepEqual(Object.getOwnPropertyDescriptor(out, '__proto__')?.value, { polluted: true });
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  assert.equal(canonicalBytes(out).toString('utf8'), '{"__proto__":{"polluted":true},"a\ufffd":1,"z":"x"}');
});

test('well-formed JSON comes back as the same object; every event the builder emits seals to the reference bytes', () => {
  fc.assert(
    fc.property(fc.jsonValue({ maxDepth: 5 }), (v) => {
      assert.equal(wellFormed(v), v);
    }),
    { numRuns: 1000 },
  );
  const { b, events } = harness();
  referenceSession(b, { prompt: 'p', arg: 'a', fileText: 'f', key: 'sk-test', toolResult: 'r' });
  b.flush();
  assert.ok(events.length > 10, `events: ${events.length}`);
  for (const e of events) assert.equal(canonicalBytes(e).toString('utf8'), canonicalize(e), e.type);
});
