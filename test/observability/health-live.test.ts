import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireKernel } from '../helpers/privileges.js';
import { spawnCli } from '../helpers/cli.js';

/** The real sensor (`agentrail run`, native collector) serving /healthz, /readyz and /metrics. */
test('health and metrics endpoints answer while the sensor runs under the real kernel', async (t) => {
  if (!requireKernel(t)) return;
  const dir = mkdtempSync(join(tmpdir(), 'agentrail-live-'));
  const cfg = join(dir, 'config.yaml');
  writeFileSync(cfg, `sink:\n  local:\n    dir: ${join(dir, 'log')}\nobservability:\n  httpPort: 0\n`);
  const target = spawn('sleep', ['60'], { stdio: 'ignore' });
  const sensor = spawnCli(['run', '--config', cfg, '--pid', String(target.pid), '--duration', '60'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  sensor.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => sensor.on('exit', (code) => resolve(code)));
  t.after(() => {
    sensor.kill('SIGKILL');
    target.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  const port = await new Promise<number>((resolve, reject) => {
    const end = Date.now() + 60_000;
    const tick = () => {
      const m = /"stage":"health"[^\n]*"port":(\d+)/.exec(stderr);
      if (m) return resolve(Number(m[1]));
      if (sensor.exitCode !== null || Date.now() > end) return reject(new Error(`sensor did not start its health server:\n${stderr.slice(-2000)}`));
      setTimeout(tick, 50);
    };
    tick();
  });
  const get = async (p: string) => {
    const r = await fetch(`http://127.0.0.1:${port}${p}`);
    return { status: r.status, body: await r.text() };
  };
  assert.equal((await get('/healthz')).status, 200);
  // Ready once the probes are attached and the local log is writable.
  let ready = await get('/readyz');
  const end = Date.now() + 60_000;
  while (ready.status !== 200 && Date.now() < end) {
    assert.equal(ready.status, 503);
    await new Promise((r) => setTimeout(r, 100));
    ready = await get('/readyz');
  }
  assert.equal(ready.status, 200, ready.body);
  const checks = JSON.parse(ready.body).checks;
  assert.equal(checks.probes_attached, 'ok');
  assert.equal(checks.sink_writable, 'ok');
  const m = await get('/metrics');
  assert.equal(m.status, 200);
  assert.match(m.body, /agentrail_events_total\{type="dev.agentrail.sensor.start"\} 1/);
  for (const name of ['agentrail_dropped_total', 'agentrail_ringbuf_fill_ratio', 'agentrail_local_log_unshipped_bytes', 'agentrail_kafka_publish_latency_seconds', 'agentrail_last_checkpoint_age_seconds']) {
    assert.match(m.body, new RegExp(`# TYPE ${name} `), name);
  }
  assert.match(m.body, /# TYPE agentrail_process_\w+/);
  sensor.kill('SIGTERM');
  assert.equal(await exited, 0, stderr.slice(-2000));
});
