/**
 * The HTML report of a real incident (test/helpers/incident.ts: the real `openai` SDK agent under the
 * real sensor reads a secret file and POSTs it to a second host), opened in Debian's headless
 * Chromium. Every answer on the page is compared with a value this test derives on its own from the
 * sealed log lines (and from what the agent and the upload host saw), not from investigate's JSON;
 * each timeline row's leaf hash must be the next line's prevhash; the page must fetch nothing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { cliEntry, repoRoot } from '../../src/paths.js';
import { requireKernel } from '../helpers/privileges.js';
import { browserVerdict, openFile, requireChromium } from '../helpers/browser.js';
import { incidentWithKeys, UPLOAD_HOST } from '../helpers/incident.js';
import { expectedContentHash } from '../helpers/expected-hash.js';

type Ev = { id: string; sequence: string; type: string; prevhash: string; data: Record<string, any> };

test('investigate --html: the report of a real incident shows, in Chromium, the five answers the sealed log holds, and fetches nothing', { timeout: 240_000 }, async (t) => {
  if (!requireKernel(t) || !requireChromium(t)) return;
  const inc = await incidentWithKeys(t, 'agentrail-investigate-html-');
  const { work, keys } = inc;
  const out = join(work, 'report.html');
  const r = spawnSync(process.execPath, [cliEntry, 'investigate', inc.logDir, '--keys', keys, '--artifact', inc.secret, '--html', out], { encoding: 'utf8', env: { ...process.env, AGENTRAIL_ROOT: repoRoot } });
  assert.equal(r.status, 0, r.stderr);

  // The expected values, straight from the sealed lines.
  const segs = join(inc.logDir, 'segments');
  const lines = readdirSync(segs).filter((f) => f.endsWith('.jsonl')).sort().flatMap((f) => readFileSync(join(segs, f), 'utf8').split('\n').filter(Boolean));
  const evs = lines.map((l) => JSON.parse(l) as Ev);
  const of = (type: string) => evs.filter((e) => e.type === `dev.agentrail.${type}`);
  const fileHash = expectedContentHash(readFileSync(inc.secret), inc.keyDir);
  const firstModel = of('model.invocation')[0]!;
  const tools = of('tool.invocation');
  const secretReads = of('data.access').filter((e) => e.data.resource_uri === `file://${inc.secret}`);
  const upload = of('data.access').find((e) => e.data.request_hash === fileHash)!;
  assert.ok(upload, 'the sealed log holds the upload whose body is the file');
  const uploadOut = of('data.access').filter((e) => e.data.resource_uri === upload.data.resource_uri).reduce((n, e) => n + Number(e.data.bytes_written ?? 0), 0);
  const carrying = tools.filter((e) => e.data.return_hash === fileHash).map((e) => e.id);
  const artifactSeqs = evs.filter((e) => Object.values(e.data ?? {}).includes(fileHash) || (e.data?.tool_result_event_ids ?? []).some((id: string) => carrying.includes(id))).map((e) => `#${e.sequence}`);
  const keyIds = of('identity.assertion').map((e) => e.data.key_id_hash).filter(Boolean);

  const { page, requests, console: msgs } = await openFile(t, out);
  const text = async (sel: string) => (await page.locator(sel).allTextContents()).map((s) => s.trim());

  // Integrity first: verified with signatures, the whole chain up to the last line.
  assert.equal(await page.locator('#integrity').getAttribute('data-state'), 'ok');
  assert.match((await text('#integrity'))[0]!, new RegExp(`sequence 1\\.\\.${evs.at(-1)!.sequence} intact; checkpoint signatures checked`));

  // 1. the triggering input.
  assert.deepEqual(await text('#q1 td.f-model'), [firstModel.data.model_id]);
  assert.deepEqual(await text('#q1 td.f-instruction_hash'), [firstModel.data.cause.instruction_hash]);
  assert.deepEqual(await text('#q1 td.f-event'), [`#${firstModel.sequence}`]);

  // 2. the tools in order (as the agent ran them), each linked to the model call that asked for it.
  assert.deepEqual(await text('#q2 td.f-tool'), inc.seen.calls.map((c) => c.name));
  assert.deepEqual(await text('#q2 td.f-tool'), tools.map((e) => e.data.tool_name));
  const bySeqId = new Map(evs.map((e) => [e.id, e.sequence]));
  assert.deepEqual(await text('#q2 td.f-requested_by'), tools.map((e) => `#${bySeqId.get(e.data.cause?.event_id ?? e.data.triggering_event_id)}`));
  assert.equal((await text('#q2 td.f-return_hash'))[0], fileHash, 'read_file returned the file');

  // 3. the secret file with every byte the kernel counted.
  const q3 = page.locator('#q3 tbody tr', { hasText: `file://${inc.secret}` });
  assert.equal(await q3.count(), 1);
  assert.equal(Number(await q3.locator('td.f-bytes_read').textContent()), secretReads.reduce((n, e) => n + Number(e.data.bytes_read ?? 0), 0));
  assert.ok(secretReads.reduce((n, e) => n + Number(e.data.bytes_read ?? 0), 0) >= readFileSync(inc.secret).length);

  // 4. the upload destination, bytes out and the body hash; and the artifact everywhere it went.
  const q4 = page.locator('#q4 tbody tr', { hasText: String(upload.data.resource_uri) });
  assert.equal(await q4.count(), 1);
  assert.ok(String(upload.data.resource_uri).includes(UPLOAD_HOST));
  assert.equal(Number(await q4.locator('td.f-bytes_out').textContent()), uploadOut);
  assert.match((await q4.locator('td.f-request_hashes').textContent()) ?? '', new RegExp(fileHash));
  assert.deepEqual((await text('#artifacts td.f-event')).sort(), artifactSeqs.sort());
  assert.ok(artifactSeqs.length >= 3, `tool result, model request and upload: ${artifactSeqs.join(' ')}`);

  // 5. the identity chain: the agent's process and the keyed credential id.
  assert.ok((await text('#q5 td.f-pid')).includes(String(inc.agentPid)));
  assert.deepEqual((await text('#q5 td.f-key_id_hash')).filter((x) => x !== '-'), keyIds);

  // The graph: each tool node linked from the model call that requested it, and the artifact's path in red
  // from the tool that returned it, through the model request that carried it, to the upload.
  for (const tool of tools) assert.equal(await page.locator(`#graph a.node[href="#ev-${tool.id}"]`).count(), 1);
  assert.equal(await page.locator('#graph path.artifact').count(), artifactSeqs.length - 1);
  assert.equal(await page.locator('#graph a.node', { hasText: UPLOAD_HOST.slice(0, 8) }).count() >= 1, true);

  // The timeline: one row per agent action, each leaf hash equal to the next line's prevhash.
  const rows = await page.locator('#timeline tbody tr').evaluateAll((trs) => trs.map((tr) => [tr.id, tr.querySelector('.leaf-hash')?.textContent ?? '']));
  const agentTypes = /\.(model|tool)\.invocation$|\.data\.access$|\.identity\.assertion$|\.policy\.decision$|\.error$/;
  assert.deepEqual(rows.map(([id]) => id), evs.filter((e) => agentTypes.test(e.type)).map((e) => `ev-${e.id}`));
  const next = new Map(evs.slice(1).map((e, i) => [evs[i]!.id, e.prevhash]));
  for (const [id, leaf] of rows) assert.equal(leaf, next.get(id!.slice(3)), `leaf hash of ${id}`);

  // The page itself re-verifies the embedded log with src/verify and finds every timeline row in it.
  const v = await browserVerdict(page);
  assert.equal(v.state, 'ok', v.text);
  assert.ok(v.text.includes(`sequence 1..${evs.at(-1)!.sequence}, checkpoint signatures checked`), v.text);
  assert.ok(v.text.includes(`${rows.length} of ${rows.length} timeline leaf hashes are leaves of this log. OK.`), v.text);

  assert.deepEqual(requests, [pathToFileURL(out).href], 'no network request');
  assert.deepEqual(msgs, [], 'the CSP refused nothing');
  if (process.env.AGENTRAIL_KEEP_INCIDENT) await page.screenshot({ path: join(work, 'report.png'), fullPage: true });
});
