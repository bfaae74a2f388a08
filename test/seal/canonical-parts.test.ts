/**
 * The split canonical form a shard worker sends (src/seal/canonical.ts canonicalParts) joined with
 * the chain fields by the main thread's sealer must be byte for byte the reference RFC 8785 form
 * (the `canonicalize` package) of the sealed event — whatever other keys the event has, including
 * keys that sort before "prevhash", between "prevhash" and "sequence", and after "sequence".
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import canonicalize from 'canonicalize';
import { createHash } from 'node:crypto';
import { canonicalParts, joinCanonicalParts, partsToJson } from '../../src/seal/canonical.js';
import { generateKey, KeySet, Sealer } from '../../src/seal/index.js';
import { EventTypes, makeEnvelope } from '../../src/contracts/envelope.js';
import { MemorySink } from '../helpers/memory-sink.js';

const key = fc.oneof(fc.string({ unit: 'binary', maxLength: 12 }), fc.constantFrom('prevhasg', 'prevhasi', 'region', 'rule', 'sequencf', 'sequencd', 'source', 'zz', 'a', 'eventsig'));
const event = fc
  .record({
    type: fc.string(),
    extra: fc.dictionary(key, fc.jsonValue({ maxDepth: 3 }), { maxKeys: 8 }),
    prevhash: fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => Buffer.from(b).toString('hex')),
    sequence: fc.bigInt({ min: 1n, max: (1n << 53n) - 1n }).map(String),
  })
  .map(({ type, extra, prevhash, sequence }) => ({ ev: { ...extra, type } as Record<string, unknown> & { type: string }, prevhash, sequence }));

test('joined parts equal the reference canonical form of the sealed event (random keys on every side)', () => {
  fc.assert(
    fc.property(event, ({ ev, prevhash, sequence }) => {
      const parts = canonicalParts(ev);
      const { eventsig: _sig, ...unsigned } = ev as Record<string, unknown>;
      assert.equal(joinCanonicalParts(parts, prevhash, sequence), canonicalize({ ...unsigned, prevhash, sequence }));
      assert.equal(partsToJson(parts), canonicalize(unsigned));
    }),
    { numRuns: 2000 },
  );
});

test('parts refuse what canonicalBytes refuses (SEAL_NOT_JSON)', () => {
  for (const bad of [NaN, Infinity, '\ud800', 1n]) assert.throws(() => canonicalParts({ type: 't', data: { v: bad } }), { code: 'SEAL_NOT_JSON' });
});


test('a chain sealed from parts: every line is the reference form of the event with its sequence and the previous line\'s leaf hash', async () => {
  const keys = new KeySet([generateKey('parts-test').key]);
  const events = Array.from({ length: 40 }, (_, i) => makeEnvelope({ type: EventTypes.dataAccess, source: 'agentrail://t/sensor', data: { i, path: `/f/${i}`, note: 'é\u2028' }, subject: `s${i % 3}` }));
  const sink = new MemorySink();
  const s = await Sealer.open({ sink, source: 'agentrail://t/sensor', keys, checkpointEvents: 16, checkpointIntervalMs: 3_600_000 });
  const out = events.map((e) => s.sealParts(canonicalParts(e as never)));
  // The lazily parsed object of a parts-sealed event is the sealed event.
  for (const o of out) assert.deepEqual(o.event, JSON.parse(o.canonical.toString('utf8')));
  let next = 0;
  for (let n = 0; n < sink.lines.length; n++) {
    const line = sink.lines[n]!.toString('utf8');
    const parsed = JSON.parse(line) as { type: string };
    if (parsed.type !== EventTypes.dataAccess) continue;
    // RFC 6962 leaf hash of the previous line, computed here with node:crypto.
    const prevhash = createHash('sha256').update(Buffer.from([0])).update(sink.lines[n - 1]!).digest('hex');
    assert.equal(line, canonicalize({ ...events[next++], sequence: String(n + 1), prevhash }));
  }
  assert.equal(next, 40);
});
