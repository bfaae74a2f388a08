/**
 * The producer (node:crypto, src/seal/canonical.ts) and the verifier (@noble, own JCS) are independent
 * implementations: they must give identical canonical bytes, leaves, roots and signatures.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ed25519 } from '@noble/curves/ed25519.js';
import { canonicalBytes } from '../../src/seal/canonical.js';
import { leafHash as nodeLeaf, MerkleFrontier } from '../../src/seal/merkle.js';
import { parseSignerKeyText, signBytes } from '../../src/seal/keys.js';
import { jcs } from '../../src/verify/jcs.js';
import { CompactTree, leafHash as nobleLeaf } from '../../src/verify/merkle.js';
import { parseSignerKey } from '../../src/verify/note.js';
import { parseKeyring } from '../../src/verify/keyring.js';
import { verifyLog } from '../../src/verify/log-verifier.js';
import { readSource } from '../../src/verify/node-reader.js';
import { buildLog, logLines, makeKeys, openSealer, tmp, toolEvent } from './fixture.js';

test('identical canonical bytes, leaves, roots and Ed25519 signatures from node:crypto and @noble', async () => {
  const keys = makeKeys();
  const dir = await buildLog(40, keys);
  const lines = logLines(dir);
  const nt = new MerkleFrontier();
  const t = new CompactTree();
  for (const l of lines) {
    const ev = JSON.parse(l);
    assert.equal(jcs(ev), canonicalBytes(ev).toString('utf8'));
    assert.equal(jcs(ev), l);
    const a = nodeLeaf(Buffer.from(l));
    const b = nobleLeaf(new TextEncoder().encode(l));
    assert.deepEqual(new Uint8Array(a), b);
    nt.append(a);
    t.append(b);
    assert.deepEqual(new Uint8Array(nt.root()), t.root());
  }
  const skey = readFileSync(keys.keyFile, 'utf8');
  const nk = parseSignerKeyText(skey, 'k');
  const noble = parseSignerKey(skey);
  assert.equal(nk.keyId, noble.keyId);
  assert.deepEqual(new Uint8Array(nk.publicKey), noble.publicKey);
  for (const l of lines.slice(0, 10)) {
    const msg = Buffer.from(l);
    assert.deepEqual(new Uint8Array(signBytes(nk, msg)), ed25519.sign(msg, noble.seed));
  }
});

test('per-event signatures (eventsig): verified by the noble verifier; a forged one is rejected', async () => {
  const keys = makeKeys();
  const ring = parseKeyring(readFileSync(keys.keyring, 'utf8'));
  const dir = tmp();
  const s = await openSealer(dir, keys, { eventSignatures: true });
  for (let i = 0; i < 12; i++) s.seal(toolEvent(i));
  await s.close();
  const lines = logLines(dir);
  assert.ok(lines.every((l) => typeof JSON.parse(l).eventsig === 'string'));
  assert.equal((await verifyLog(readSource(dir), { keys: ring })).ok, true);
  const other = makeKeys('other');
  const nk = parseSignerKeyText(readFileSync(other.keyFile, 'utf8'), 'o');
  const k = 5;
  const ev = JSON.parse(lines[k]!);
  const { eventsig: _x, ...unsigned } = ev;
  ev.eventsig = Buffer.concat([nk.keyIdBytes, signBytes(nk, canonicalBytes(unsigned))]).toString('base64');
  const forged = lines.slice();
  forged[k] = canonicalBytes(ev).toString('utf8');
  const r = await verifyLog(forged, { keys: ring });
  assert.equal(r.failure?.reason, 'UNKNOWN_KEY');
  assert.equal(r.failure?.index, k);
  const ev2 = JSON.parse(lines[k]!);
  ev2.eventsig = JSON.parse(lines[k + 1]!).eventsig;
  const swapped = lines.slice();
  swapped[k] = canonicalBytes(ev2).toString('utf8');
  const r2 = await verifyLog(swapped, { keys: ring });
  assert.equal(r2.failure?.reason, 'EVENT_SIGNATURE_INVALID');
  assert.equal(r2.failure?.index, k);
});
