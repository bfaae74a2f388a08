/**
 * The seal stage's RFC 8785 canonicalizer (src/seal/canonical.ts) against the reference
 * implementation, the `canonicalize` package by an RFC 8785 author: identical bytes on random JSON
 * values (fast-check, with unicode, surrogate pairs, escapes, -0, exponents, deep nesting) and on
 * real sealed events of the project's own logs, and the same refusals (NaN, Infinity, lone
 * surrogates, BigInt, cycles) as a typed SEAL_NOT_JSON error.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import canonicalize from 'canonicalize';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { runCliAsync } from '../helpers/cli.js';
import { join } from 'node:path';
import { canonicalBytes, canonicalBytesPrefixed } from '../../src/seal/canonical.js';
import { repoRoot } from '../../src/paths.js';

const json = fc.jsonValue({ maxDepth: 6 });
const weird = fc.oneof(
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.string({ unit: 'binary' }),
  fc.string({ unit: 'grapheme' }),
  fc.constantFrom(-0, 1e21, 1e-7, 123456789012345680000, 5e-324, '\u2028\u2029', '\u0000\u001f"\\/', '\ud83d\ude00'),
);
const withWeird = fc.letrec((tie) => ({
  v: fc.oneof({ depthSize: 'small' }, weird, fc.array(tie('v'), { maxLength: 5 }), fc.dictionary(fc.string({ unit: 'binary' }), tie('v'), { maxKeys: 6 })),
})).v;

test('same bytes as the reference canonicalize on random JSON values', () => {
  fc.assert(
    fc.property(fc.oneof(json, withWeird), (v) => {
      assert.equal(canonicalBytes(v).toString('utf8'), canonicalize(v));
      assert.equal(canonicalBytesPrefixed(v).subarray(1).toString('utf8'), canonicalize(v));
    }),
    { numRuns: 3000 },
  );
});

/** A deep copy whose objects have their keys inserted in code-unit order (what the event stage builds). */
function inOrder(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(inOrder);
  if (v === null || typeof v !== 'object') return v;
  const out = Object.create(null) as Record<string, unknown>;
  for (const k of Object.keys(v).sort()) out[k] = inOrder((v as Record<string, unknown>)[k]);
  return out;
}

test('same bytes as the reference on values already in key order (the JSON.stringify path) and partly in order (copy path)', () => {
  fc.assert(
    fc.property(fc.oneof(json, withWeird), fc.oneof(json, withWeird), (a, b) => {
      const sorted = inOrder(a);
      assert.equal(canonicalBytes(sorted).toString('utf8'), canonicalize(sorted));
      // An in-order object holding an out-of-order one: only the inner one is rebuilt.
      const mixed = inOrder({ a: sorted, m: b, z: [b, sorted] });
      (mixed as Record<string, unknown>).m = b;
      assert.equal(canonicalBytes(mixed).toString('utf8'), canonicalize(mixed));
    }),
    { numRuns: 2000 },
  );
});

test('every line the pipeline writes is the reference canonical form of itself (recorded captures replayed)', async () => {
  const work = mkdtempSync(join(tmpdir(), 'ar-jcs-'));
  try {
    let n = 0;
    const cfg = join(work, 'c.yaml');
    writeFileSync(cfg, `observability:\n  httpEnabled: false\nseal:\n  keyDir: ${join(work, 'keys')}\n`);
    const captures = join(repoRoot, 'test', 'fixtures', 'captures');
    for (const f of readdirSync(captures).filter((x) => x.endsWith('.arcap'))) {
      const logDir = join(work, f);
      const r = await runCliAsync(['run', '--replay', join(captures, f), '--log-dir', logDir, '--config', cfg]);
      assert.equal(r.status, 0, r.stderr.slice(-1500));
      for (const seg of readdirSync(join(logDir, 'segments')))
        for (const line of readFileSync(join(logDir, 'segments', seg), 'utf8').split('\n').filter(Boolean)) {
          assert.equal(line, canonicalize(JSON.parse(line)), `${f}/${seg}`);
          n++;
        }
    }
    assert.ok(n > 50, `sealed lines checked: ${n}`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});

test('the same refusals as the reference, as SEAL_NOT_JSON', () => {
  const cyclic: Record<string, unknown> = { a: 1 };
  cyclic.self = cyclic;
  for (const bad of [NaN, Infinity, { x: -Infinity }, '\ud800', { '\udc00': 1 }, ['a\ud83d'], cyclic]) {
    assert.throws(() => canonicalize(bad), Error, 'the reference refuses it too');
    assert.throws(() => canonicalBytes(bad), (e: Error & { code?: string }) => e.code === 'SEAL_NOT_JSON');
  }
  assert.throws(() => canonicalBytes({ n: 1n }), (e: Error & { code?: string }) => e.code === 'SEAL_NOT_JSON');
});

test('lone surrogates refused and text that only looks like an escape kept, on every path (values, keys, in order or not)', () => {
  // The JSON.stringify path finds lone surrogates in its output's \udXXX escapes: backslashes and
  // "ud8" text around them must neither hide one nor invent one.
  const piece = fc.constantFrom('a', '\\', '\\\\', 'u', 'ud800', '\\ud800', 'd', '8', '"', '\ud800', '\udfff', '\udc00', '\ud83d\ude00', '\ud83d');
  const text = fc.array(piece, { maxLength: 8 }).map((a) => a.join(''));
  fc.assert(
    fc.property(text, text, (s, k) => {
      for (const v of [s, { [k]: 1 }, { a: s, b: [s] }, { b: 1, a: s }, { [k]: s, z: { y: 1, x: k } }]) {
        let ref: string | undefined;
        try {
          ref = canonicalize(v);
        } catch {
          ref = undefined;
        }
        if (ref === undefined) assert.throws(() => canonicalBytes(v), (e: Error & { code?: string }) => e.code === 'SEAL_NOT_JSON', JSON.stringify(v));
        else assert.equal(canonicalBytes(v).toString('utf8'), ref);
      }
    }),
    { numRuns: 4000 },
  );
});

test('a "__proto__" member (an own key from JSON.parse) is kept when its object is rebuilt sorted', () => {
  for (const text of ['{"b":1,"__proto__":{"x":1},"a":2}', '{"z":{"__proto__":[1],"a":0},"a":1}', '{"__proto__":"s","a":1}']) {
    const v = JSON.parse(text) as unknown;
    assert.equal(canonicalBytes(v).toString('utf8'), canonicalize(v), text);
    assert.ok(canonicalBytes(v).toString('utf8').includes('"__proto__"'), text);
  }
});
