import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HealthServer } from '../../src/observability/health-server.js';
import { countDrop, eventsEmitted, localLogUnshippedBytes, markCheckpoint, ringBufferFill } from '../../src/observability/metrics.js';
import { parseConfig } from '../../src/config/load.js';

test('health server: /healthz, /readyz follow the checks, /metrics serves the registry', async (t) => {
  const cfg = parseConfig({ observability: { httpPort: 0 } });
  let probesAttached = false;
  let sinkWritable: boolean | string = 'sink_not_open';
  const hs = new HealthServer({ host: cfg.observability.httpHost, port: cfg.observability.httpPort, checkTimeoutMs: 200 });
  hs.addReadinessCheck('probes_attached', () => probesAttached);
  hs.addReadinessCheck('sink_writable', () => sinkWritable);
  const { port } = await hs.start();
  t.after(() => hs.stop());
  assert.ok(port > 0);
  const get = async (p: string) => {
    const r = await fetch(`http://127.0.0.1:${port}${p}`);
    return { status: r.status, type: r.headers.get('content-type') ?? '', body: await r.text() };
  };

  const live = await get('/healthz');
  assert.equal(live.status, 200);
  assert.equal(JSON.parse(live.body).status, 'ok');

  let ready = await get('/readyz');
  assert.equal(ready.status, 503);
  assert.deepEqual(JSON.parse(ready.body).checks, { probes_attached: 'fail', sink_writable: 'sink_not_open' });
  probesAttached = true;
  sinkWritable = true;
  ready = await get('/readyz');
  assert.equal(ready.status, 200);
  assert.deepEqual(JSON.parse(ready.body), { status: 'ok', checks: { probes_attached: 'ok', sink_writable: 'ok' } });

  // A hung check fails the probe instead of hanging it.
  hs.addReadinessCheck('hung', () => new Promise<boolean>(() => undefined));
  ready = await get('/readyz');
  assert.equal(ready.status, 503);
  assert.equal(JSON.parse(ready.body).checks.hung, 'timeout');

  eventsEmitted.inc({ type: 'dev.agentrail.tool.invocation' });
  countDrop('ringbuf', 'full', 3);
  ringBufferFill.set({ ring: 'events' }, 0.25);
  localLogUnshippedBytes.set(4096);
  markCheckpoint(Date.now() - 5000);
  const m = await get('/metrics');
  assert.equal(m.status, 200);
  assert.match(m.type, /text\/plain/);
  assert.match(m.body, /agentrail_events_total\{type="dev.agentrail.tool.invocation"\} 1/);
  assert.match(m.body, /agentrail_dropped_total\{stage="ringbuf",reason="full"\} 3/);
  assert.match(m.body, /agentrail_ringbuf_fill_ratio\{ring="events"\} 0.25/);
  assert.match(m.body, /agentrail_local_log_unshipped_bytes 4096/);
  assert.match(m.body, /# TYPE agentrail_kafka_publish_latency_seconds histogram/);
  const age = Number(/agentrail_last_checkpoint_age_seconds ([\d.]+)/.exec(m.body)?.[1]);
  assert.ok(age >= 5, `checkpoint age ${age}`);
  assert.match(m.body, /agentrail_process_/);

  assert.equal((await get('/nope')).status, 404);
  assert.equal((await fetch(`http://127.0.0.1:${port}/healthz`, { method: 'POST' })).status, 405);
});

test('readiness with no checks registered is not ready', async (t) => {
  const hs = new HealthServer({ port: 0 });
  const { port } = await hs.start();
  t.after(() => hs.stop());
  assert.equal((await fetch(`http://127.0.0.1:${port}/readyz`)).status, 503);
  assert.equal((await fetch(`http://127.0.0.1:${port}/healthz`)).status, 200);
});
