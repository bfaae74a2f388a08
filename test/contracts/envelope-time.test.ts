import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { isoMicros } from '../../src/contracts/envelope.js';
import { sha256Hex } from '../../src/contracts/digest.js';

/** The definition: Date's ISO form to the millisecond, then the microseconds digit triple. */
function reference(ns: bigint): string {
  const base = new Date(Number(ns / 1_000_000n)).toISOString();
  return `${base.slice(0, -1)}${String(Number((ns / 1000n) % 1000n)).padStart(3, '0')}Z`;
}

test('isoMicros (per-second cache) = the reference formatting, in order, out of order, on second and year boundaries', () => {
  const cases: bigint[] = [0n, 999n, 1_000n, 999_999_999n, 1_000_000_000n, 1_796_462_652_495_123_456n, 946_684_799_999_999_999n, 946_684_800_000_000_000n, 253_402_300_799_999_999_000n];
  let t = 1_796_462_652_000_000_000n;
  for (let i = 0; i < 20_000; i++) {
    // Mostly forward in small steps (the pipeline's order), sometimes jumping back or far ahead.
    const r = randomBytes(4).readUInt32LE();
    t += BigInt(r % 3_000_000);
    cases.push(t, i % 97 === 0 ? t - BigInt(r) * 1000n : t, i % 1000 === 0 ? BigInt(r) * 1_000_000_000_000n : t);
  }
  for (const ns of cases) assert.equal(isoMicros(ns), reference(ns), String(ns));
});

test('sha256Hex = createHash, for strings (UTF-8) and bytes', () => {
  for (const v of ['', 'a', '/etc/passwd', 'é😀', randomBytes(100), new Uint8Array(0)]) assert.equal(sha256Hex(v), createHash('sha256').update(v).digest('hex'));
});
