/**
 * Whole model calls whatever their size (issue 10, item 5), on the real
 * sensor: prompts of 17 KiB, 64 KiB and 1 MiB from the npm `openai` SDK, the
 * PyPI `openai` SDK and curl, against the local HTTPS mock (throwaway CA),
 * each a model.invocation whose `input_byte_count` is the prompt's true size
 * and `input_complete` true. A body above the default 2 MiB capture cap, sent
 * in one SSL_write by Python's http.client, is still a model.invocation: its
 * true byte count, `input_complete: false`, and the reason counted in
 * agentrail_dropped_total.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cliEntry, distRoot, repoRoot } from '../../src/paths.js';
import { requireKernel, requireTool } from '../helpers/privileges.js';
import { waitForSealed } from '../helpers/sensor-metrics.js';
import { testRig } from '../helpers/test-rig.js';

type Ev = { id: string; type: string; data: Record<string, any> };
// 100 B as well: curl over HTTP/2 with a small body (it closes before reading END_STREAM).
const SIZES = [100, 17 * 1024, 64 * 1024, 1024 * 1024];
const OVER_CAP = 3 * 1024 * 1024; // above AR_TLS_CAP_DEFAULT (2 MiB)

function waitFor<T>(what: string, fn: () => T | undefined | Promise<T | undefined>, ms: number): Promise<T> {
  const until = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const poll = async () => {
      try {
        const v = await fn();
        if (v !== undefined) return resolve(v);
      } catch (e) {
        return reject(e);
      }
      if (Date.now() > until) return reject(new Error(`timed out waiting for ${what}`));
      setTimeout(poll, 100);
    };
    void poll();
  });
}

function readLog(dir: string): Ev[] {
  const seg = join(dir, 'segments');
  const out: Ev[] = [];
  for (const f of readdirSync(seg).sort()) {
    for (const line of readFileSync(join(seg, f), 'utf8').split('\n')) if (line) out.push(JSON.parse(line) as Ev);
  }
  return out;
}

test('model calls of 17 KiB, 64 KiB and 1 MiB from Node, Python and curl keep their true size; above the cap the call is still recorded, incomplete and counted', { timeout: 600_000 }, async (t) => {
  if (!requireKernel(t)) return;
  const python = join(repoRoot, '.venv', 'bin', 'python');
  if (!requireTool(t, existsSync(python), 'the Python SDK venv (.ci/setup.d/20-python.sh)')) return;
  if (!requireTool(t, spawnSync('curl', ['--version']).status === 0, 'curl')) return;

  const { work, ca, children } = testRig(t, 'agentrail-large-');

  const mock = spawn(process.execPath, [join(distRoot, 'test', 'helpers', 'llm-mock-server.js'), '--cert', ca.certPath, '--key', ca.keyPath], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(mock);
  let mockOut = '';
  mock.stdout!.on('data', (d: Buffer) => (mockOut += d.toString()));
  const port = await waitFor('mock server', () => (mockOut.includes('\n') ? (JSON.parse(mockOut.split('\n')[0]!) as { port: number }).port : undefined), 15_000);

  // The clients run under a launcher that stops itself until the sensor traces it.
  const resultFile = join(work, 'results.json');
  const launcher = spawn('/bin/sh', ['-c', 'kill -STOP $$; exec "$@"', 'sh', process.execPath, join(repoRoot, 'test', 'integration', 'agents', 'large-prompts.mjs')], {
    env: { ...process.env, MOCK_URL: `https://localhost:${port}`, PYTHON: python, CA_FILE: ca.caPath, RESULT_FILE: resultFile, WORK_DIR: work, REPO_ROOT: repoRoot,
      SIZES: SIZES.join(','), OVER_CAP_BYTES: String(OVER_CAP) },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  children.push(launcher);
  await waitFor('launcher stopped', () => (/\) T /.test(readFileSync(`/proc/${launcher.pid}/stat`, 'utf8')) ? true : undefined), 10_000);

  const logDir = join(work, 'log');
  const cfgFile = join(work, 'agentrail.yaml');
  writeFileSync(cfgFile, ['observability:', '  httpPort: 0', ''].join('\n')); // collector.tlsCap left at its default
  const sensor = spawn(process.execPath, [cliEntry, 'run', '--pid', String(launcher.pid), '--log-dir', logDir, '--config', cfgFile], {
    env: { ...process.env, AGENTRAIL_ROOT: repoRoot },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  children.push(sensor);
  let sensorErr = '';
  sensor.stderr!.on('data', (d: Buffer) => (sensorErr += d.toString()));
  const healthPort = await waitFor('sensor ready', () => {
    if (sensor.exitCode !== null) throw new Error(`sensor exited ${sensor.exitCode}: ${sensorErr.slice(-2000)}`);
    const m = /"healthPort":(\d+)[^\n]*pipeline running/.exec(sensorErr);
    return m ? Number(m[1]) : undefined;
  }, 60_000);

  process.kill(launcher.pid!, 'SIGCONT');
  const launcherExit = await new Promise<number | null>((resolve) => launcher.on('exit', (c) => resolve(c)));
  assert.equal(launcherExit, 0, 'the clients ran');
  const results = JSON.parse(readFileSync(resultFile, 'utf8')) as Array<{ name: string; model: string; promptBytes: number; status: number; pid: number; output?: string; bodyBytes?: number; error?: string; stderr?: string }>;
  for (const r of results) assert.equal(r.status, 0, `${r.name} failed: ${r.error ?? ''} ${r.stderr ?? ''}`);

  // Wait on the sensor's own counter: one model.invocation per client call.
  const metrics = await waitForSealed(healthPort, 'model.invocation', results.length);
  sensor.kill('SIGTERM');
  const sensorExit = await new Promise<number | null>((resolve) => sensor.on('exit', (c) => resolve(c)));
  assert.equal(sensorExit, 0, `sensor exit: ${sensorErr.slice(-1500)}`);

  const models = readLog(logDir).filter((e) => e.type === 'dev.agentrail.model.invocation');
  for (const r of results.filter((x) => x.name !== 'py-http-client-over-cap')) {
    const mine = models.filter((m) => m.data.process?.pid === r.pid);
    assert.equal(mine.length, 1, `${r.name}: one model.invocation (got ${mine.length})`);
    const m = mine[0]!;
    assert.equal(m.data.model_id, r.model, `${r.name}: model id`);
    assert.equal(m.data.input_complete, true, `${r.name}: input complete`);
    assert.equal(m.data.input_byte_count, r.promptBytes, `${r.name}: true input byte count`);
    assert.equal(m.data.output_complete, true, `${r.name}: output complete ${JSON.stringify(m.data)}`);
  }

  const over = results.find((x) => x.name === 'py-http-client-over-cap')!;
  assert.ok(over.bodyBytes! > OVER_CAP, 'the over-cap body is larger than the prompt');
  const mine = models.filter((m) => m.data.process?.pid === over.pid);
  assert.equal(mine.length, 1, `over the cap: still one model.invocation (got ${mine.length})`);
  assert.equal(mine[0]!.data.model_id, over.model, 'model id read from the captured prefix');
  assert.equal(mine[0]!.data.input_complete, false, 'input_complete false above the cap');
  assert.equal(mine[0]!.data.input_byte_count, over.bodyBytes, 'the true byte count of the request body');
  assert.equal(mine[0]!.data.output_complete, true, 'the answer was captured whole');
  assert.match(metrics, /agentrail_dropped_total\{stage="protocol",reason="llm_input_incomplete"\} 1\b/, 'the incomplete input is counted');
});
