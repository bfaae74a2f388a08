/**
 * The incident an investigator must be able to reconstruct from the trail alone: an agent on the
 * real `openai` SDK under the real sensor reads an instruction file; the (mock) model asks it to
 * read a secret file, run `ls`, then POST the file's exact bytes to a second host name.
 * `agentrail investigate --artifact <secret file>` must find, by hash, the tool that read it, the
 * model request that carried it, and the egress POST; `--json` answers the five questions; the
 * human form names the same answers.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cliEntry, repoRoot } from '../../src/paths.js';
import { requireKernel } from '../helpers/privileges.js';
import { incidentWithKeys, UPLOAD_HOST } from '../helpers/incident.js';
import { expectedContentHash } from '../helpers/expected-hash.js';
import type { Answers } from '../../src/investigate/answers.js';

type Rep = Answers & { integrity: { ok: boolean | null; signatures: boolean; range: string | null } };

test('investigate: the incident is reconstructed from the trail alone, the secret file found by hash in every place it went', { timeout: 240_000 }, async (t) => {
  if (!requireKernel(t)) return;
  const inc = await incidentWithKeys(t, 'agentrail-investigate-');
  const { work, keys } = inc;

  const r = spawnSync(process.execPath, [cliEntry, 'investigate', inc.logDir, '--keys', keys, '--artifact', inc.secret, '--json'], { encoding: 'utf8', env: { ...process.env, AGENTRAIL_ROOT: repoRoot } });
  assert.equal(r.status, 0, r.stderr);
  const rep = JSON.parse(r.stdout) as Rep;
  const fileHash = expectedContentHash(readFileSync(inc.secret), inc.keyDir);

  // Verification first, and what range is intact.
  assert.equal(rep.integrity.ok, true, JSON.stringify(rep.integrity));
  assert.equal(rep.integrity.signatures, true);
  assert.match(rep.integrity.range ?? '', /^1\.\.\d+$/);

  // 1. the triggering input.
  assert.equal(rep.q1_triggering_input.length, 1);
  assert.match(rep.q1_triggering_input[0]!.instruction_hash ?? '', /^hmac-sha256:[0-9a-f]{64}$/);
  assert.equal(rep.q1_triggering_input[0]!.model, 'gpt-4o-mini');

  // 2. the tools in order, each with the model call that asked for it.
  assert.deepEqual(rep.q2_tools.map((x) => x.tool), inc.seen.calls.map((c) => c.name), JSON.stringify(rep.q2_tools));
  for (const tool of rep.q2_tools) assert.ok(tool.requested_by, `${tool.tool} has the model call that requested it`);
  assert.equal(rep.q2_tools[0]!.return_hash, fileHash, 'read_file returned the file');

  // 3. resources: the secret file and the instruction file were read.
  const fileRes = rep.q3_data.find((x) => x.resource === `file://${inc.secret}`);
  assert.ok(fileRes && fileRes.bytes_read > 0, JSON.stringify(rep.q3_data.map((x) => x.resource)));
  assert.ok(rep.q3_data.some((x) => x.resource === `file://${inc.instructionFile}` && x.bytes_read > 0));

  // 4. egress: the upload host with the bytes that left, and the artifact everywhere it went, by hash.
  const up = rep.q4_egress.destinations.filter((e) => e.resource.includes(UPLOAD_HOST));
  assert.ok(up.some((e) => e.request_hashes.includes(fileHash)), JSON.stringify(rep.q4_egress.destinations));
  const art = rep.q4_egress.artifacts[0]!;
  assert.equal(art.sha256, fileHash);
  assert.ok(art.found.some((f) => f.type === 'tool.invocation' && f.field === 'return_hash'), JSON.stringify(art.found));
  assert.ok(art.found.some((f) => f.type === 'model.invocation' && f.field === 'tool_result_event_ids'), 'the model request that carried the file back');
  assert.ok(art.found.some((f) => f.type === 'data.access' && f.field === 'request_hash' && String(f.resource).includes(UPLOAD_HOST)), 'the POST body is the file');

  // 5. identity: process and uid up to the credential (keyed id) the agent presented.
  assert.ok(rep.q5_identity.some((p) => p.pid === inc.agentPid && p.uid === 0));
  assert.ok(rep.q5_identity.some((c) => c.key_id_hash?.startsWith('hmac-sha256:')), JSON.stringify(rep.q5_identity));

  // A control: an artifact that never appeared is found nowhere.
  const other = join(work, 'unrelated.txt');
  writeFileSync(other, 'never sent anywhere\n');
  const hmacKey = join(work, 'keys', 'agentrail.hmac'); // seal.keyDir of the incident's config
  const none = spawnSync(process.execPath, [cliEntry, 'investigate', inc.logDir, '--keys', keys, '--artifact', other, '--hmac-key', hmacKey, '--json'], { encoding: 'utf8' });
  assert.equal(none.status, 0, none.stderr);
  assert.deepEqual((JSON.parse(none.stdout) as Rep).q4_egress.artifacts[0]!.found, []);

  // params_hash is keyed: `agentrail hash --key --params` reproduces it from the arguments the agent received; no other key does.
  const tools = readdirSync(join(inc.logDir, 'segments'))
    .flatMap((f) => readFileSync(join(inc.logDir, 'segments', f), 'utf8').split('\n'))
    .filter((l) => l.includes('"dev.agentrail.tool.invocation"'))
    .map((l) => (JSON.parse(l) as { data: { tool_name: string; params_hash: string } }).data);
  const otherKey = join(work, 'other.hmac');
  writeFileSync(otherKey, 'ab'.repeat(32) + '\n');
  for (const c of inc.seen.calls) {
    const ev = tools.find((x) => x.tool_name === c.name)!;
    assert.match(ev.params_hash, /^hmac-sha256:[0-9a-f]{64}$/);
    const h = spawnSync(process.execPath, [cliEntry, 'hash', '--key', hmacKey, '--params', c.arguments], { encoding: 'utf8' });
    assert.equal(h.stdout.trim(), ev.params_hash, `${c.name}: ${h.stderr}`);
    const g = spawnSync(process.execPath, [cliEntry, 'hash', '--key', otherKey, '--params', c.arguments], { encoding: 'utf8' });
    assert.notEqual(g.stdout.trim(), ev.params_hash);
  }

  // Short content is keyed: the upload host's 15-byte reply is found with the deployment key, and only with it.
  const reply = join(work, 'reply.json');
  writeFileSync(reply, inc.uploadReply);
  const noKey = spawnSync(process.execPath, [cliEntry, 'investigate', inc.logDir, '--artifact', reply, '--json'], { encoding: 'utf8' });
  assert.equal(noKey.status, 2);
  assert.match(noKey.stderr, /under 64 bytes.*--hmac-key/);
  const keyed = spawnSync(process.execPath, [cliEntry, 'investigate', inc.logDir, '--keys', keys, '--artifact', reply, '--hmac-key', hmacKey, '--json'], { encoding: 'utf8' });
  assert.equal(keyed.status, 0, keyed.stderr);
  const found = (JSON.parse(keyed.stdout) as Rep).q4_egress.artifacts[0]!;
  assert.equal(found.sha256, expectedContentHash(inc.uploadReply, inc.keyDir));
  assert.ok(found.found.some((f) => f.type === 'data.access' && f.field === 'response_hash' && String(f.resource).includes(UPLOAD_HOST)), JSON.stringify(found.found));
  // Each tool call's arguments as the agent received them: `agentrail hash --key --string -` reproduces arguments_hash.
  const asked = readdirSync(join(inc.logDir, 'segments'))
    .flatMap((f) => readFileSync(join(inc.logDir, 'segments', f), 'utf8').split('\n'))
    .filter((l) => l.includes('"dev.agentrail.model.invocation"'))
    .flatMap((l) => (JSON.parse(l) as { data: { tools_requested: Array<{ name: string; arguments_hash: string }> } }).data.tools_requested);
  for (const c of inc.seen.calls) {
    const want = expectedContentHash(c.arguments, inc.keyDir);
    assert.ok(asked.some((x) => x.name === c.name && x.arguments_hash === want), `${c.name}: arguments_hash ${want} in ${JSON.stringify(asked)}`);
    const h = spawnSync(process.execPath, [cliEntry, 'hash', '--key', hmacKey, '--string', '-'], { encoding: 'utf8', input: c.arguments });
    assert.equal(h.stdout.trim(), want, h.stderr);
  }
});
