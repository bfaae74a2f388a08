/** The verifier's independent RFC 8785 implementation agrees with the producer's `canonicalize`. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import canonicalize from 'canonicalize';
import { jcs } from '../../src/verify/jcs.js';

test('jcs equals canonicalize on random JSON values', () => {
  fc.assert(
    fc.property(fc.jsonValue(), (v) => {
      assert.equal(jcs(v), canonicalize(v));
    }),
    { numRuns: 2000 },
  );
});

test('RFC 8785 examples: number forms, key order by UTF-16 units, escapes', () => {
  assert.equal(jcs({ b: 1e21, a: 1e-7, c: 0.000001, d: -0, e: 333333333.33333329 }), '{"a":1e-7,"b":1e+21,"c":0.000001,"d":0,"e":333333333.3333333}');
  // RFC 8785 §3.2.3 sorting example: keys compared as UTF-16 code units.
  assert.equal(jcs({ '\u20ac': 'Euro Sign', '\r': 'Carriage Return', '\ufb33': 'Hebrew Letter Dalet With Dagesh', '1': 'One', '\ud83d\ude00': 'Emoji: Grinning Face', '\u0080': 'Control', '\u00f6': 'Latin Small Letter O With Diaeresis' }),
    '{"\\r":"Carriage Return","1":"One","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis","\u20ac":"Euro Sign","\ud83d\ude00":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}');
  assert.equal(jcs(['\u000f', '"\\', '\u007f']), '["\\u000f","\\"\\\\","\u007f"]');
  assert.throws(() => jcs({ a: '\ud800' }), /surrogate/);
  assert.throws(() => jcs(Number.NaN), /non-finite/);
});
