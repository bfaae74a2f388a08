/** keygen → seal with the key → prove → verify --proof → consistency, through the real CLI. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from '../helpers/cli.js';
import { logLines, openSealer, tmp, toolEvent, type Keys } from './fixture.js';

test('keygen, prove, verify --proof, consistency', async () => {
  const kd = tmp('ar-keygen-');
  const g = runCli(['keygen', '--name', 'node-a.example/agentrail', '--out', kd]);
  assert.equal(g.status, 0, g.stderr);
  const keyFile = join(kd, 'node-a.example_agentrail.key');
  const pubFile = join(kd, 'node-a.example_agentrail.pub');
  assert.equal(statSync(keyFile).mode & 0o777, 0o600);
  assert.match(readFileSync(keyFile, 'utf8'), /^PRIVATE\+KEY\+node-a\.example\/agentrail\+[0-9a-f]{8}\+/);
  assert.equal(readFileSync(pubFile, 'utf8').trim(), g.stdout.trim());
  assert.equal(runCli(['keygen', '--name', 'node-a.example/agentrail', '--out', kd]).status, 2, 'refuses to overwrite');
  const keys: Keys = { dir: kd, keyFile, keyring: pubFile, verifier: g.stdout.trim(), signer: '' };

  const dir = tmp();
  const s = await openSealer(dir, keys);
  const ids: string[] = [];
  for (let i = 0; i < 30; i++) ids.push(s.seal(toolEvent(i)).event.id);
  await s.close();
  const clean = runCli(['verify', dir, '--keys', pubFile]);
  assert.equal(clean.status, 0);
  assert.doesNotMatch(clean.stderr, /inside the log directory/);
  // A keyring kept inside the log it verifies: still verified, but the user is warned.
  const inside = join(dir, 'keys.pub');
  writeFileSync(inside, readFileSync(pubFile));
  const warned = runCli(['verify', dir, '--keys', inside]);
  assert.equal(warned.status, 0);
  assert.match(warned.stderr, /warning: the keyring .* is inside the log directory it verifies/);

  const proofFile = join(tmp(), 'proof.json');
  const p = runCli(['prove', ids[17]!, '--log', dir, '--out', proofFile, '--keys', pubFile]);
  assert.equal(p.status, 0, p.stderr);
  const proof = JSON.parse(readFileSync(proofFile, 'utf8'));
  assert.equal(proof.event.id, ids[17]);
  assert.equal(Number(proof.leafIndex), Number(proof.event.sequence) - 1);
  const ok = runCli(['verify', '--proof', proofFile, '--keys', pubFile]);
  assert.equal(ok.status, 0, ok.stdout);
  assert.match(ok.stdout, /^OK inclusion proof/);
  // Without --keys prove still works (chain and roots checked, signatures left to the verifier).
  assert.equal(runCli(['prove', ids[3]!, '--log', dir, '--out', proofFile + '2', '--at', 'first']).status, 0);
  assert.equal(runCli(['verify', '--proof', proofFile + '2', '--keys', pubFile]).status, 0);

  const tampered = structuredClone(proof);
  tampered.event.data.outcome.status = 'error';
  writeFileSync(proofFile + '.bad', JSON.stringify(tampered));
  const bad = runCli(['verify', '--proof', proofFile + '.bad', '--keys', pubFile, '--json']);
  assert.equal(bad.status, 17);
  assert.equal(JSON.parse(bad.stdout).failure.reason, 'INCLUSION_PROOF_INVALID');
  const wrongIdx = structuredClone(proof);
  wrongIdx.auditPath[0] = wrongIdx.auditPath[1];
  writeFileSync(proofFile + '.bad2', JSON.stringify(wrongIdx));
  assert.equal(runCli(['verify', '--proof', proofFile + '.bad2', '--keys', pubFile]).status, 17);
  assert.equal(runCli(['prove', 'NO-SUCH-ID', '--log', dir, '--out', proofFile + '3']).status, 1);

  // Consistency between two checkpoints of the log, by tree size, and with an externally kept note.
  const cps = logLines(dir).map((l) => JSON.parse(l)).filter((e) => e.type === 'dev.agentrail.log.checkpoint');
  const a = cps[1].data.treesize;
  const cpFile = join(tmp(), 'old-checkpoint.note');
  writeFileSync(cpFile, cps[2].data.note);
  const cons = join(tmp(), 'cons.json');
  const c = runCli(['consistency', a, cpFile, '--log', dir, '--keys', pubFile, '--out', cons]);
  assert.equal(c.status, 0, c.stdout + c.stderr);
  const c2 = runCli(['consistency', a, 'latest', '--log', dir, '--keys', pubFile]);
  assert.equal(c2.status, 0, c2.stdout);
  assert.equal(runCli(['consistency', '--proof', cons, '--keys', pubFile]).status, 0);
  assert.equal(runCli(['verify', '--proof', cons, '--keys', pubFile]).status, 0);
  const bc = JSON.parse(readFileSync(cons, 'utf8'));
  bc.proof[0] = bc.proof[0].replace(/^./, (x: string) => (x === '0' ? '1' : '0'));
  writeFileSync(cons + '.bad', JSON.stringify(bc));
  const cb = runCli(['consistency', '--proof', cons + '.bad', '--keys', pubFile]);
  assert.equal(cb.status, 15, cb.stdout);
  assert.match(cb.stdout, /CONSISTENCY_FAILED/);
});
