/** Time-based checkpoints and key reload (a rotated Kubernetes Secret) without a restart. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseKeyring } from '../../src/verify/keyring.js';
import { verifyLog } from '../../src/verify/log-verifier.js';
import { readSource } from '../../src/verify/node-reader.js';
import { logLines, makeKeys, openSealer, tmp, toolEvent } from './fixture.js';

test('a checkpoint is written after intervalMs when events are pending, none when idle', async () => {
  const keys = makeKeys();
  const dir = tmp();
  const s = await openSealer(dir, keys, { checkpointEvents: 1000, checkpointIntervalMs: 40 });
  const afterStart = s.sequence;
  await sleep(150);
  assert.equal(s.sequence, afterStart, 'idle: no checkpoint');
  for (let i = 0; i < 3; i++) s.seal(toolEvent(i));
  const sealed = s.sequence;
  for (let waited = 0; s.sequence === sealed && waited < 5000; waited += 10) await sleep(10);
  await sleep(150);
  assert.equal(s.sequence, sealed + 1, 'exactly one timed checkpoint');
  await s.close();
  const evs = logLines(dir).map((l) => JSON.parse(l));
  const cp = evs[sealed]!;
  assert.equal(cp.type, 'dev.agentrail.log.checkpoint');
  assert.equal(cp.data.treesize, String(sealed));
});

test('a replaced key file is picked up at the next checkpoint; both keys in the keyring verify the log', async () => {
  const a = makeKeys('node-key');
  const b = makeKeys('node-key');
  const dir = tmp();
  const s = await openSealer(dir, a, { checkpointEvents: 5 });
  for (let i = 0; i < 5; i++) s.seal(toolEvent(i));
  writeFileSync(a.keyFile, readFileSync(b.keyFile));
  const future = new Date(Date.now() + 5000);
  utimesSync(a.keyFile, future, future);
  for (let i = 0; i < 5; i++) s.seal(toolEvent(i));
  await s.close();
  const notes: string[] = logLines(dir).map((l) => JSON.parse(l)).filter((e) => e.type === 'dev.agentrail.log.checkpoint').map((e) => e.data.note);
  const idA = a.verifier.split('+')[1]!;
  const idB = b.verifier.split('+')[1]!;
  const signer = (n: string) => Buffer.from(n.trim().split(' ').pop()!, 'base64').subarray(0, 4).toString('hex');
  assert.deepEqual(notes.slice(0, 2).map(signer), [idA, idA], 'start and first count checkpoint: old key');
  assert.equal(signer(notes.at(-1)!), idB, 'signed by the new key');
  const both = parseKeyring(`${a.verifier}\n${b.verifier}\n`);
  assert.equal((await verifyLog(readSource(dir), { keys: both })).ok, true);
  const onlyOld = await verifyLog(readSource(dir), { keys: parseKeyring(a.verifier) });
  assert.equal(onlyOld.failure?.reason, 'UNKNOWN_KEY');
});
