/**
 * HTTP/2 over the TLS capture cap (issue 10, item 5), on the real sensor: curl --http2 and a node:http2
 * client POST a 256 KiB model request through a sensor whose collector.tlsCap is 16 KiB, so every
 * large SSL_write is cut. The HTTP/2 decoder must keep frame sync (skip the DATA bytes it did not
 * see instead of giving up on the connection): each call is still a model.invocation with the model
 * id, the request body's true byte count, `input_complete: false`, the reason counted, and the
 * answer's output hash; the small call each client makes next decodes whole.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expectedContentHash } from '../helpers/expected-hash.js';
import { requireKernel, requireTool } from '../helpers/privileges.js';
import { testRig } from '../helpers/test-rig.js';
import { startSensor } from '../helpers/sensor-process.js';
import { spawnStoppedAgent, startMockLlm } from '../helpers/stopped-agent.js';
import { waitForSealed } from '../helpers/sensor-metrics.js';

type Ev = { type: string; data: Record<string, any> };
const CAP = 16 * 1024;
const BODY = 256 * 1024;

function readLog(dir: string): Ev[] {
  return readdirSync(join(dir, 'segments'))
    .sort()
    .flatMap((f) => readFileSync(join(dir, 'segments', f), 'utf8').split('\n').filter(Boolean))
    .map((l) => JSON.parse(l) as Ev);
}

test('HTTP/2 model calls above the capture cap (curl --http2, node:http2): frame sync kept, true byte count, input_complete false, counted', { timeout: 300_000 }, async (t) => {
  if (!requireKernel(t)) return;
  if (!requireTool(t, /HTTP2/.test(spawnSync('curl', ['--version'], { encoding: 'utf8' }).stdout ?? ''), 'curl with HTTP/2')) return;
  const { work, ca, children } = testRig(t, 'agentrail-h2cap-');

  const port = await startMockLlm(children, ca);
  const resultFile = join(work, 'results.json');
  const { agent } = await spawnStoppedAgent(children, 'h2-over-cap.mjs', { MOCK_URL: `https://localhost:${port}`, CA_FILE: ca.caPath, RESULT_FILE: resultFile, WORK_DIR: work, BODY_BYTES: String(BODY) });

  const logDir = join(work, 'log');
  const keyDir = join(work, 'keys');
  const cfgFile = join(work, 'agentrail.yaml');
  writeFileSync(cfgFile, ['observability:', '  httpPort: 0', 'collector:', `  tlsCap: ${CAP}`, 'seal:', `  keyDir: ${keyDir}`, ''].join('\n'));
  const sensor = await startSensor(children, agent.pid!, logDir, cfgFile);
  const healthPort = sensor.healthPort();
  assert.ok(healthPort, 'the sensor serves /metrics');

  process.kill(agent.pid!, 'SIGCONT');
  assert.equal(await new Promise<number | null>((r) => agent.on('exit', (c) => r(c))), 0, 'the clients ran');
  const results = JSON.parse(readFileSync(resultFile, 'utf8')) as Array<{ name: string; model: string; bodyBytes: number; promptBytes: number; status: number; pid: number; output?: string; error?: string; stderr?: string }>;
  for (const r of results) assert.equal(r.status, 0, `${r.name} failed: ${r.error ?? ''} ${r.stderr ?? ''}`);

  // Wait on the sensor's own counter: one model.invocation per call.
  const metrics = await waitForSealed(healthPort, 'model.invocation', results.length);
  await sensor.stop();

  const models = readLog(logDir).filter((e) => e.type === 'dev.agentrail.model.invocation');
  for (const r of results) {
    const mine = models.filter((m) => m.data.process?.pid === r.pid);
    assert.equal(mine.length, 1, `${r.name}: one model.invocation (got ${mine.length})`);
    const m = mine[0]!.data;
    assert.equal(m.model_id, r.model, `${r.name}: model id read from the captured prefix`);
    assert.equal(m.output_complete, true, `${r.name}: the answer was captured whole`);
    assert.equal(m.output_hash, expectedContentHash(r.output!, keyDir), `${r.name}: output hash of the text the client received`);
    if (r.bodyBytes > CAP) {
      assert.equal(m.input_complete, false, `${r.name}: input_complete false above the cap`);
      assert.equal(m.input_byte_count, r.bodyBytes, `${r.name}: the request body's true byte count`);
    } else {
      assert.equal(m.input_complete, true, `${r.name}: the next call decodes whole`);
      assert.equal(m.input_byte_count, r.promptBytes, `${r.name}: input bytes`);
    }
  }
  const over = results.filter((r) => r.bodyBytes > CAP).length;
  const counted = Number(/agentrail_dropped_total\{stage="protocol",reason="llm_input_incomplete"\} (\d+)/.exec(metrics)?.[1] ?? 0);
  assert.equal(counted, over, 'each incomplete input counted once');
  assert.doesNotMatch(metrics, /agentrail_stage_errors_total\{stage="protocol",reason="h2_[a-z_]+"\} [1-9]/, 'no HTTP/2 desynchronisation');
});
