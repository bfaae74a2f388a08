import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parseKeyring } from '../../src/verify/keyring.js';
import { verifyLog } from '../../src/verify/log-verifier.js';
import { jcs } from '../../src/verify/jcs.js';
import { buildLog, logLines, makeKeys } from '../seal/fixture.js';

/**
 * Issue 11, item 1: the key-less rewrite. An attacker without the signing key deletes the log up
 * to a checkpoint, rewrites the events that follow and recomputes sequence/prevhash (plain
 * SHA-256). Every checkpoint signs the chain head it covers, so the rewritten prefix cannot reach
 * the signed head: verify must never call such a log OK, with or without --allow-truncated-start.
 */
const CP = 'dev.agentrail.log.checkpoint';
const leaf = (line: string) => createHash('sha256').update(Buffer.from([0])).update(line).digest('hex');

async function fixture() {
  const keys = makeKeys();
  const ring = parseKeyring(readFileSync(keys.keyring, 'utf8'));
  const dir = await buildLog(120, keys, { checkpointEvents: 20 });
  const lines = logLines(dir);
  const cps = lines.map((l, i) => [i, JSON.parse(l) as { type: string }] as const).filter(([, e]) => e.type === CP).map(([i]) => i);
  assert.ok(cps.length >= 4, 'several checkpoints');
  return { ring, lines, cps };
}

/** Re-chain lines (recompute prevhash from the previous line), as a key-less attacker can. */
function rechain(lines: string[], prev: string): string[] {
  const out: string[] = [];
  for (const l of lines) {
    const e = JSON.parse(l) as Record<string, unknown>;
    e.prevhash = prev;
    const c = jcs(e);
    out.push(c);
    prev = leaf(c);
  }
  return out;
}

test('deleting up to a checkpoint and rewriting what follows never verifies, even with --allow-truncated-start', async () => {
  const { ring, lines, cps } = await fixture();
  const cut = cps.at(-3)!; // delete everything up to and including this checkpoint
  const kept = lines.slice(cut + 1);
  const first = JSON.parse(kept[0]!) as Record<string, unknown>;
  // Rewrite one event's content in the surviving prefix, then recompute the whole chain after it.
  const victim = kept.findIndex((l) => (JSON.parse(l) as { type: string }).type !== CP);
  const edited = JSON.parse(kept[victim]!) as Record<string, any>;
  edited.data = { ...edited.data, forged: true };
  kept[victim] = jcs(edited);
  const forged = rechain(kept, String(first.prevhash));
  const r = await verifyLog(forged, { keys: ring, allowTruncatedStart: true });
  assert.equal(r.ok, false, 'a key-less rewrite is not OK');
  assert.equal(r.failure?.reason, 'CHECKPOINT_UNBOUND', JSON.stringify(r.failure));
  // Also with the auditor's copy of the final checkpoint passed as a trusted checkpoint.
  const finalNote = (JSON.parse(lines[cps.at(-1)!]!) as { data: { note: string } }).data.note;
  const w = await verifyLog(forged, { keys: ring, allowTruncatedStart: true, witnesses: [finalNote] });
  assert.equal(w.ok, false);
});

test('an untouched log whose oldest events were deleted: TRUNCATED_START by default, OK and said so with the option, bound by a trusted checkpoint', async () => {
  const { ring, lines, cps } = await fixture();
  const kept = lines.slice(cps.at(-3)! + 1);
  const strict = await verifyLog(kept, { keys: ring });
  assert.equal(strict.failure?.reason, 'TRUNCATED_START');
  const lax = await verifyLog(kept, { keys: ring, allowTruncatedStart: true });
  assert.equal(lax.ok, true, JSON.stringify(lax.failure));
  assert.equal(lax.startBound, 'unverified');
  // The auditor kept a later checkpoint: its signed head binds the surviving prefix.
  const note = (JSON.parse(lines[cps.at(-2)!]!) as { data: { note: string } }).data.note;
  const bound = await verifyLog(kept, { keys: ring, witnesses: [note] });
  assert.equal(bound.ok, true, JSON.stringify(bound.failure));
  assert.equal(bound.startBound, 'trusted-checkpoint');
});

test('a complete log starts at the genesis; a checkpoint whose signed head differs from its prevhash is unbound', async () => {
  const { ring, lines, cps } = await fixture();
  const ok = await verifyLog(lines, { keys: ring });
  assert.equal(ok.ok, true, JSON.stringify(ok.failure));
  assert.equal(ok.startBound, 'genesis');
  // Move the last checkpoint onto another head: recompute its prevhash only (the note still signs the old head).
  const i = cps.at(-1)!;
  const tampered = [...lines];
  const e = JSON.parse(tampered[i]!) as Record<string, unknown>;
  e.prevhash = 'ab'.repeat(32);
  tampered[i] = jcs(e);
  const r = await verifyLog(tampered, { keys: ring });
  assert.equal(r.ok, false);
});
