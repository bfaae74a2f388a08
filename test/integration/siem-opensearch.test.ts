/**
 * The SIEM path end to end (issue 14): the investigate incident (real sensor, real `openai` SDK,
 * secret file read, tool calls, POST to another host) is shipped by the sensor to the real Kafka
 * broker, `agentrail index` bulk-indexes the topic into the real OpenSearch node as ECS, and the
 * five questions are answered by OpenSearch queries with the values this test derives on its own
 * from the sealed log lines. The indexer is SIGKILLed mid-stream and restarted (nothing lost, no id
 * twice), and a replay of the whole topic under a new consumer group adds no document.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@opensearch-project/opensearch';
import { cliEntry, repoRoot } from '../../src/paths.js';
import { answerAll } from '../../src/sink/opensearch/questions.js';
import { requireKernel, requireTool } from '../helpers/privileges.js';
import { brokerReachable, brokerState } from '../helpers/kafka.js';
import { allDocs, docCount, opensearchReachable, opensearchUrl, spawnIndexer } from '../helpers/opensearch.js';
import { UPLOAD_HOST, runIncident } from '../helpers/incident.js';
import { expectedContentHash } from '../helpers/expected-hash.js';
import { waitFor } from '../helpers/wait-for.js';
import { ecsViolations } from '../helpers/ecs-check.js';

type Ev = { id: string; type: string; time: string; data: Record<string, any> };

const env = { ...process.env, AGENTRAIL_ROOT: repoRoot, AGENTRAIL_LOG_LEVEL: 'info' };
const leaf = (line: string) => createHash('sha256').update(Buffer.concat([Buffer.from([0]), Buffer.from(line, 'utf8')])).digest('hex');
const HASH_FIELDS = ['request_hash', 'response_hash', 'content_hash', 'return_hash', 'output_hash', 'output_text_hash', 'input_hash'];

function sealedLines(logDir: string): string[] {
  const segs = readdirSync(join(logDir, 'segments')).sort();
  return segs.flatMap((s) => readFileSync(join(logDir, 'segments', s), 'utf8').split('\n').filter(Boolean));
}


test('SIEM: incident → Kafka → agentrail index → OpenSearch; the five questions answer there as in the sealed log; a killed indexer and a replay add no duplicate', { timeout: 300_000 }, async (t) => {
  if (!requireKernel(t)) return;
  if (!requireTool(t, await brokerReachable(), 'a Kafka broker (npm run kafka:start)')) return;
  if (!requireTool(t, await opensearchReachable(), 'OpenSearch (npm run opensearch:start)')) return;
  const brokers = brokerState()!.brokers;
  const url = opensearchUrl()!;
  const client = new Client({ node: url });
  const suffix = randomBytes(4).toString('hex');
  const topic = `test.siem.${suffix}`;
  const index = `agentrail-ecs-test-${suffix}`;
  const group = `agentrail-indexer-test-${suffix}`;
  const work = mkdtempSync(join(tmpdir(), 'agentrail-siem-'));
  t.after(async () => {
    await client.indices.delete({ index }).catch(() => {});
    await client.close();
    rmSync(work, { recursive: true, force: true });
  });
  const init = spawnSync(process.execPath, [cliEntry, 'kafka', 'init', '--brokers', brokers.join(','), '--topic', topic, '--checkpoint-topic', `${topic}.cp`, '--preset', 'dev', '--partitions', '3'], { env, encoding: 'utf8' });
  assert.equal(init.status, 0, init.stderr);
  const source = `kafka://${brokers.join(',')}/${topic}`;

  // Indexer A follows the topic while the incident runs; it is SIGKILLed as soon as documents appear.
  const a = spawnIndexer(t, [source, '--opensearch', url, '--index', index, '--group', group]);
  let countAtKill = -1;
  let stopWatch = false;
  const watcher = (async () => {
    while (!stopWatch) {
      const n = await docCount(client, index);
      if (n > 0) {
        a.child.kill('SIGKILL');
        countAtKill = n;
        return;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  const inc = await runIncident(t, work, ['sink:', '  kafka:', '    enabled: true', `    brokers: [${brokers.join(', ')}]`, `    topic: ${topic}`, `    checkpointTopic: ${topic}.cp`]);
  await waitFor('the first documents, then the kill', () => (countAtKill >= 0 ? true : undefined), 60_000);
  stopWatch = true;
  await watcher;
  assert.notEqual(await a.exit, 0, 'indexer A was killed');
  // What A had stored by its death (a bulk already sent may still land): fewer than the incident's events.
  await new Promise((r) => setTimeout(r, 1000));
  const countAfterKill = await docCount(client, index);

  const lines = sealedLines(inc.logDir);
  const events = lines.map((l) => JSON.parse(l) as Ev);
  assert.ok(countAtKill > 0 && countAfterKill < events.length, `killed mid-stream: ${countAfterKill} of ${events.length} indexed when A died`);

  // Indexer B resumes the same consumer group and catches up.
  const b = spawnIndexer(t, [source, '--opensearch', url, '--index', index, '--group', group]);
  await waitFor('indexer B running', () => (b.err().includes('indexer running') ? true : undefined), 60_000);
  const t0 = Date.now();
  let n = 0;
  while ((n = await docCount(client, index)) < events.length) {
    assert.ok(Date.now() - t0 < 90_000, `timed out: ${n} of ${events.length} indexed; indexer B: ${b.err().slice(-1500)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
  b.child.kill('SIGTERM');
  assert.equal(await b.exit, 0, b.err().slice(-2000));
  const bStats = JSON.parse(b.out().trim().split('\n').at(-1)!) as { indexed: number; rejected: number };
  assert.equal(bStats.rejected, 0);

  const docs = await allDocs(client, index);
  assert.equal(docs.size, events.length, 'one document per sealed event: nothing lost, nothing twice');
  for (const [id, d] of docs) assert.deepEqual(ecsViolations(d.source), [], `ECS document ${id} against @elastic/ecs`);
  // OCSF of the same incident against the published schema (PyPI pydantic-ocsf), when the venv has it.
  const python = join(repoRoot, '.venv', 'bin', 'python');
  if (requireTool(t, spawnSync(python, ['-c', 'import ocsf.v1_7_0.events']).status === 0, 'pydantic-ocsf in the Python venv (requirements-test.txt)')) {
    const ocsfFile = join(work, 'incident.ocsf.jsonl');
    const ex = spawnSync(process.execPath, [cliEntry, 'export', inc.logDir, '--format', 'ocsf', '--out', ocsfFile], { env, encoding: 'utf8' });
    assert.equal(ex.status, 0, ex.stderr);
    const v = spawnSync(python, [join(repoRoot, 'test', 'sink', 'formats', 'ocsf_validate.py')], { input: readFileSync(ocsfFile), encoding: 'utf8' });
    assert.equal(v.status, 0, v.stderr);
    const rep = JSON.parse(v.stdout) as { records: number; errors: unknown[] };
    assert.equal(rep.records, docs.size);
    assert.deepEqual(rep.errors, [], 'every OCSF record of the incident validates');
  }
  for (const [i, ev] of events.entries()) {
    const d = docs.get(ev.id);
    assert.ok(d, `event ${ev.id} (${ev.type}) is in OpenSearch`);
    assert.equal(d.source['event'].id, ev.id);
    assert.equal(d.source['agentrail'].leaf_hash, leaf(lines[i]!), 'the SIEM row links to its sealed line');
  }

  // A replay of the whole topic under a new group re-sends every document: same ids, so no new one.
  const replay = spawnSync(process.execPath, [cliEntry, 'index', source, '--opensearch', url, '--index', index, '--group', `${group}-replay`, '--once'], { env, encoding: 'utf8', timeout: 120_000 });
  assert.equal(replay.status, 0, replay.stderr);
  assert.equal((JSON.parse(replay.stdout.trim().split('\n').at(-1)!) as { indexed: number }).indexed, events.length, 'the replay re-indexed every event');
  const after = await allDocs(client, index);
  assert.equal(after.size, events.length, 'the replay added no document');
  for (const [id, d] of after) assert.ok(d.version >= 2, `${id} was overwritten in place (version ${d.version})`);

  // The five questions, in OpenSearch, against what this test derives from the sealed lines.
  const secretHash = expectedContentHash(readFileSync(inc.secret), inc.keyDir);
  const got = await answerAll(client, index, [secretHash]);
  const of = (type: string) => events.filter((e) => e.type === `dev.agentrail.${type}`);

  const firstBySession = new Map<string, Ev>();
  for (const e of of('model.invocation')) if (!firstBySession.has(e.data['agent_session_id'])) firstBySession.set(e.data['agent_session_id'], e);
  assert.deepEqual(
    got.q1_triggering_input.map((q) => [q.event_id, q.instruction_hash, q.model]).sort(),
    [...firstBySession.values()].map((e) => [e.id, e.data['cause']?.instruction_hash ?? null, e.data['model_id']]).sort(),
    'Q1 triggering input',
  );
  assert.match(got.q1_triggering_input[0]!.instruction_hash ?? '', /^hmac-sha256:[0-9a-f]{64}$/);

  t.diagnostic(`${events.length} events; ${countAfterKill} indexed when indexer A died; answers: q1 ${got.q1_triggering_input.length}, q2 ${got.q2_tools.length}, q3 ${got.q3_data.length}, q4 ${got.q4_egress.destinations.length} destinations / ${got.q4_egress.artifacts[0]!.found.length} artifact hits, q5 ${got.q5_identity.length}`);
  const tools = of('tool.invocation');
  assert.deepEqual(got.q2_tools.map((q) => q.tool), inc.seen.calls.map((c) => c.name), 'Q2: the tools the agent ran, in order');
  assert.deepEqual(
    got.q2_tools.map((q) => [q.event_id, q.requested_by, q.return_hash]),
    tools.map((e) => [e.id, e.data['cause']?.event_id ?? e.data['triggering_event_id'] ?? null, e.data['return_hash'] ?? null]),
    'Q2 tools with the model call that requested each',
  );
  assert.equal(got.q2_tools[0]!.return_hash, secretHash, 'read_file returned the secret file');

  const res = new Map<string, { accesses: number; bytes_read: number; bytes_written: number; modes: Set<string> }>();
  for (const e of of('data.access')) {
    const r = res.get(e.data['resource_uri']) ?? { accesses: 0, bytes_read: 0, bytes_written: 0, modes: new Set<string>() };
    r.accesses++;
    r.bytes_read += Number(e.data['bytes_read'] ?? 0);
    r.bytes_written += Number(e.data['bytes_written'] ?? 0);
    r.modes.add(e.data['access_mode']);
    res.set(e.data['resource_uri'], r);
  }
  const byKey = <T extends { resource: string }>(xs: T[]) => [...xs].sort((x, y) => (x.resource < y.resource ? -1 : 1));
  assert.deepEqual(
    byKey(got.q3_data),
    byKey([...res.entries()].map(([resource, r]) => ({ resource, accesses: r.accesses, bytes_read: r.bytes_read, bytes_written: r.bytes_written, modes: [...r.modes].sort() }))),
    'Q3 data touched',
  );
  assert.ok(got.q3_data.some((r) => r.resource === `file://${inc.secret}` && r.bytes_read > 0), 'Q3 includes the secret file');

  const egress = new Map<string, { events: number; bytes_out: number; bytes_in: number; request_hashes: Set<string> }>();
  for (const e of of('data.access').filter((x) => ['socket', 'url', 'object'].includes(x.data['resource_type']))) {
    const g = egress.get(e.data['resource_uri']) ?? { events: 0, bytes_out: 0, bytes_in: 0, request_hashes: new Set<string>() };
    g.events++;
    g.bytes_out += Number(e.data['bytes_written'] ?? 0);
    g.bytes_in += Number(e.data['bytes_read'] ?? 0);
    if (e.data['request_hash']) g.request_hashes.add(e.data['request_hash']);
    egress.set(e.data['resource_uri'], g);
  }
  assert.deepEqual(
    byKey(got.q4_egress.destinations),
    byKey([...egress.entries()].map(([resource, g]) => ({ resource, events: g.events, bytes_out: g.bytes_out, bytes_in: g.bytes_in, request_hashes: [...g.request_hashes].sort() }))),
    'Q4 egress destinations',
  );
  assert.ok(got.q4_egress.destinations.some((d) => d.resource.includes(UPLOAD_HOST) && d.request_hashes.includes(secretHash)), 'Q4: the POST to the upload host carried the secret file');
  const carriers = new Set(of('tool.invocation').filter((e) => HASH_FIELDS.some((f) => e.data[f] === secretHash)).map((e) => e.id));
  const expectFound = events
    .filter((e) => HASH_FIELDS.some((f) => e.data[f] === secretHash) || (e.data['tools_requested'] ?? []).some((x: any) => x?.arguments_hash === secretHash))
    .map((e) => e.id)
    .concat(of('model.invocation').filter((e) => (e.data['tool_result_event_ids'] ?? []).some((id: string) => carriers.has(id))).map((e) => e.id));
  assert.deepEqual(got.q4_egress.artifacts[0]!.found.map((f) => f.event_id).sort(), [...new Set(expectFound)].sort(), 'Q4 every place the secret file went, by hash');
  assert.ok(got.q4_egress.artifacts[0]!.found.some((f) => f.type === 'model.invocation'), 'the model request that carried the file back');

  assert.deepEqual(
    got.q5_identity.map((q) => [q.event_id, q.pid, q.uid, q.key_id_hash]),
    of('identity.assertion').map((e) => [e.id, e.data['process']?.pid ?? null, e.data['uid'] ?? null, e.data['key_id_hash'] ?? null]),
    'Q5 identity',
  );
  assert.ok(got.q5_identity.some((q) => q.pid === inc.agentPid && q.uid === 0));
  assert.ok(got.q5_identity.some((q) => q.key_id_hash?.startsWith('hmac-sha256:')));

  // The shipped Sigma rules (deploy/sigma, converted to Lucene by pySigma) find in OpenSearch exactly
  // the policy decisions the sensor sealed for each rule; the incident's exfiltration is among them.
  const sigma = JSON.parse(readFileSync(join(repoRoot, 'deploy', 'opensearch', 'agentrail-policy-sigma.json'), 'utf8')) as Array<{ rule: string; body: object }>;
  let fired = 0;
  for (const r of sigma) {
    const res = await client.search({ index, body: { ...r.body, size: 1000, _source: ['event.id'] } as never });
    const hits = (res.body as any).hits.hits.map((h: { _id: string }) => h._id).sort();
    const want = of('policy.decision').filter((e) => e.data['rule_fired'] === r.rule).map((e) => e.id).sort();
    assert.deepEqual(hits, want, `Sigma ${r.rule} in OpenSearch`);
    fired += hits.length;
  }
  assert.ok(fired > 0 && fired === of('policy.decision').length, `the incident's ${of('policy.decision').length} policy flags are each found by their Sigma rule`);
});
