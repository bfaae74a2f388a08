import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { requireTool } from '../helpers/privileges.js';
import { brokerReachable, brokerState } from '../helpers/kafka.js';
import { rawRecords } from '../helpers/kafka-records.js';
import { runCli } from '../helpers/cli.js';
import { ShipperThread } from '../../src/sink/kafka-ship-thread.js';
import { kafkaSchema } from '../../src/config/sink.js';
import { registry } from '../../src/observability/metrics.js';
import { mergeWithThisThread } from '../../src/observability/thread-metrics.js';
import { openSealed, sealEvents, tmpDir } from '../sink/sealed.js';

const crashes = async () =>
  ((await registry.getMetricsAsJSON()).find((m) => m.name === 'agentrail_stage_errors_total')?.values ?? [])
    .filter((v) => v.labels.reason === 'shipper_thread_crashed')
    .reduce((a, v) => a + Number(v.value), 0);

test('shipper thread killed mid-stream: one counted crash, a new thread resumes from the durable cursor, no event missing on the topic', { timeout: 120_000 }, async (t) => {
  if (!requireTool(t, await brokerReachable(), 'a Kafka broker (npm run kafka:start)')) return;
  const brokers = brokerState()!.brokers;
  const topic = `test.thread.${randomBytes(4).toString('hex')}`;
  assert.equal(runCli(['kafka', 'init', '--brokers', brokers.join(','), '--topic', topic, '--checkpoint-topic', `${topic}.cp`, '--preset', 'dev', '--partitions', '2']).status, 0);
  const { log, sealer } = await openSealed(tmpDir(), { segmentBytes: 64 * 1024 });
  const shipper = new ShipperThread(log, kafkaSchema.parse({ enabled: true, brokers, topic, checkpointTopic: `${topic}.cp`, batchSize: 25, lingerMs: 0 }));
  const before = await crashes();
  await shipper.start();
  await sealEvents(sealer, 200, 25);
  assert.equal(await shipper.waitShipped(log.end(), 60_000), true, `first part not shipped: ${shipper.stats.lastError}`);
  const firstPart = log.end();
  // The thread dies (as on an uncaught error or an OOM of its isolate) while more events arrive.
  const worker = (shipper as unknown as { worker: { terminate(): Promise<number> } }).worker;
  const dying = worker.terminate();
  await sealEvents(sealer, 300, 25);
  await dying;
  await sealer.close();
  assert.equal(await shipper.waitShipped(log.end(), 60_000), true, `not shipped after the crash: ${shipper.stats.lastError}`);
  await shipper.stop();
  // The last thread's final metrics come with its stop; a crashed thread's, from its last report.
  const merged = await mergeWithThisThread(shipper.threadMetrics());
  assert.equal((await crashes()) - before, 1, 'the crash is counted once');
  assert.ok(shipper.stats.shipped >= 500, `shipped counts add up over both threads: ${shipper.stats.shipped}`);
  assert.equal(log.readCursor('kafka')!.offset, log.end().offset, 'durable cursor at the end after stop');
  const lines = [...log.scan()].map((e) => JSON.parse(e.line) as { id: string });
  assert.ok(lines.length > 500 && log.end().offset > 0 && firstPart.offset >= 0);
  const ids = (await rawRecords(brokers, topic)).map((r) => r.headers['ce_id']!);
  const missing = lines.filter((l) => !ids.includes(l.id));
  assert.equal(missing.length, 0, `events missing on the topic: ${missing.length}`);
  // At least once: duplicates only of what the crashed thread had acknowledged since its last cursor write.
  assert.ok(ids.length >= lines.length, `${ids.length} records for ${lines.length} events`);
  // The shipper thread's counters reach the main thread's /metrics (summed over the crashed and the new thread).
  const shipped = (await merged.getSingleMetric('agentrail_kafka_shipped_total')!.get()).values.reduce((n, v) => n + v.value, 0);
  assert.ok(shipped > 0 && shipped <= shipper.stats.shipped, `merged shipped counter: ${shipped} (stats ${shipper.stats.shipped})`);
  log.closeSync();
});

test('shipper thread: a configuration error is one typed line at construction, on the main thread', async () => {
  const { log } = await openSealed(tmpDir());
  const bad = kafkaSchema.parse({ enabled: true, brokers: ['127.0.0.1:9'], tls: { caFile: '/nonexistent/ca.pem' } });
  assert.throws(() => new ShipperThread(log, bad), (e: Error & { code?: string }) => e.code === 'CONFIG_KAFKA_TLS' && /caFile \/nonexistent\/ca\.pem: ENOENT/.test(e.message) && !e.message.includes('\n'));
  log.closeSync();
});

test('shipper thread: a broker that is not there does not stop the start; the thread retries and stop() returns', { timeout: 60_000 }, async () => {
  const { log, sealer } = await openSealed(tmpDir());
  const shipper = new ShipperThread(log, kafkaSchema.parse({ enabled: true, brokers: ['127.0.0.1:9'], connectionTimeoutMs: 200, retryInitialMs: 50, retryMaxMs: 100 }));
  await shipper.start();
  await sealEvents(sealer, 10, 10);
  await sealer.close();
  assert.equal(await shipper.waitShipped(log.end(), 2_000), false, 'nothing acknowledged without a broker');
  const until = Date.now() + 20_000;
  while (shipper.stats.failures === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
  assert.ok(shipper.stats.failures > 0 && /UNAVAILABLE_KAFKA|127\.0\.0\.1:9/.test(shipper.stats.lastError ?? ''), `failures reported by the thread: ${JSON.stringify(shipper.stats)}`);
  await shipper.stop();
  assert.equal(log.readCursor('kafka')!.offset, 0, 'the cursor has not moved');
  log.closeSync();
});
