import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { requireTool } from '../helpers/privileges.js';
import { PrivateBroker, brokerReachable, brokerState, kafkaJarsPresent } from '../helpers/kafka.js';
import { runCli, spawnCli } from '../helpers/cli.js';
import { KafkaShipper } from '../../src/sink/kafka-shipper.js';
import { kafkaSchema } from '../../src/config/sink.js';
import { kafkaReadLines, readTopic, type ReadStats } from '../../src/sink/kafka-reader.js';
import { LocalLog } from '../../src/sink/local-log.js';
import { openSealed, sealEvents, tmpDir, verifyDir, verifyLines } from '../sink/sealed.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => res(port));
    });
  });
}

/** Every local id is in the topic once after dedupe, and the topic verifies as a chain. */
async function assertTopicHoldsLog(dir: string, brokers: string[], topic: string): Promise<ReadStats> {
  const local = [...new LocalLog(dir, { readOnly: true }).scan()].map((e) => (JSON.parse(e.line) as { id: string }).id);
  const stats: ReadStats = { records: 0, duplicates: 0, notCloudEvents: 0, partitions: 0 };
  const got: string[] = [];
  for await (const ev of readTopic({ brokers, topic, stats })) got.push(ev.id);
  assert.equal(new Set(got).size, got.length, 'no duplicate ids after dedupe');
  assert.deepEqual(new Set(got), new Set(local), 'nothing lost: every sealed event is in the topic');
  assert.equal(stats.records, got.length + stats.duplicates);
  const rep = await verifyLines(kafkaReadLines(`kafka://${brokers.join(',')}/${topic}`));
  assert.equal(rep.ok, true, JSON.stringify(rep.failure));
  return stats;
}

test('broker unreachable for the whole run, then appears; later SIGKILLed mid-stream and restarted: nothing lost', { timeout: 240_000 }, async (t) => {
  if (!requireTool(t, kafkaJarsPresent(), 'the Kafka jars (node scripts/kafka.mjs fetch)')) return;
  const port = await freePort();
  const broker = new PrivateBroker(port);
  const brokers = [`127.0.0.1:${port}`];
  const topic = `faults.${randomBytes(3).toString('hex')}`;
  const dir = tmpDir();
  const { log, sealer } = await openSealed(dir, { segmentBytes: 64 * 1024 });
  const cfg = kafkaSchema.parse({ enabled: true, brokers, topic, checkpointTopic: `${topic}.cp`, batchSize: 50, lingerMs: 5, retryInitialMs: 100, retryMaxMs: 800, connectionTimeoutMs: 1000, requestTimeoutMs: 5000 });
  const shipper = new KafkaShipper(log, cfg);
  try {
    shipper.start();
    // Phase 1: no broker at all. The local log holds everything; nothing is acknowledged.
    await sealEvents(sealer, 300);
    await sleep(1500);
    assert.equal(shipper.stats.shipped, 0);
    assert.ok(shipper.stats.failures > 0, 'produce attempts failed and are retried');
    assert.match(shipper.stats.lastError ?? '', /UNAVAILABLE_KAFKA/);
    assert.deepEqual({ ...log.readCursor('kafka') }.offset, 0, 'cursor did not move without acknowledgement');
    const live = await verifyDir(dir, true);
    assert.equal(live.ok, true);
    assert.ok(live.lines >= 302);

    // Phase 2: the broker appears (same address); shipping catches up.
    broker.start();
    const init = runCli(['kafka', 'init', '--brokers', brokers[0]!, '--topic', topic, '--checkpoint-topic', `${topic}.cp`, '--preset', 'dev', '--partitions', '3']);
    assert.equal(init.status, 0, init.stderr);
    assert.equal(await shipper.waitShipped(log.end(), 60_000), true, `catch-up: ${shipper.stats.lastError}`);

    // Phase 3: SIGKILL the broker mid-stream, restart after a few seconds.
    let sealing = true;
    const producer = (async () => {
      while (sealing) {
        await sealEvents(sealer, 40);
        await sleep(50);
      }
    })();
    await sleep(1000);
    const failuresBefore = shipper.stats.failures;
    const shippedBeforeKill = shipper.stats.shipped;
    broker.kill();
    await sleep(3000);
    assert.ok(shipper.stats.failures > failuresBefore, 'the kill hit the shipper mid-stream');
    broker.restart();
    await sleep(1000);
    sealing = false;
    await producer;
    await sealer.close();
    assert.equal(await shipper.waitShipped(log.end(), 90_000), true, `after broker restart: ${shipper.stats.lastError}`);
    assert.ok(shipper.stats.shipped > shippedBeforeKill, 'events sealed during the outage were shipped after the restart');
    await shipper.stop();
    const stats = await assertTopicHoldsLog(dir, brokers, topic);
    t.diagnostic(`records ${stats.records}, duplicates removed ${stats.duplicates}, failed attempts ${shipper.stats.failures}`);
  } finally {
    await shipper.stop();
    broker.stop();
  }
});

test('shipper process SIGKILLed mid-stream and restarted: the unshipped tail is shipped', { timeout: 180_000 }, async (t) => {
  if (!requireTool(t, await brokerReachable(), 'a Kafka broker (npm run kafka:start)')) return;
  const brokers = brokerState()!.brokers;
  const topic = `shipkill.${randomBytes(3).toString('hex')}`;
  const init = runCli(['kafka', 'init', '--brokers', brokers.join(','), '--topic', topic, '--checkpoint-topic', `${topic}.cp`, '--preset', 'dev', '--partitions', '3']);
  assert.equal(init.status, 0, init.stderr);
  const dir = tmpDir();
  const { log, sealer } = await openSealed(dir, { segmentBytes: 64 * 1024 });
  const args = ['kafka', 'ship', '--log', dir, '--brokers', brokers.join(','), '--topic', topic, '--checkpoint-topic', `${topic}.cp`, '--batch-size', '20', '--linger-ms', '0'];
  let sealing = true;
  const producer = (async () => {
    while (sealing) {
      await sealEvents(sealer, 30);
      await sleep(20);
    }
  })();
  const first = spawnCli(args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let firstErr = '';
  first.stderr!.on('data', (b: Buffer) => (firstErr += b.toString()));
  // Wait until it has shipped something, then SIGKILL it mid-stream.
  const shippedSome = () => {
    const c = log.readCursor('kafka');
    return !!c && (c.offset > 0 || c.segment !== log.start().segment);
  };
  const t0 = Date.now();
  while (Date.now() - t0 < 30_000 && !shippedSome()) await sleep(50);
  if (!shippedSome()) {
    first.kill('SIGKILL');
    sealing = false;
    await producer;
    assert.fail(`first shipper shipped nothing: ${firstErr.slice(-500)}`);
  }
  await sleep(300);
  first.kill('SIGKILL');
  await new Promise((r) => first.once('exit', r));
  const atKill = log.readCursor('kafka')!;
  sealing = false;
  await producer;
  await sealer.close();
  const end = log.end();
  assert.ok(atKill.segment < end.segment || atKill.offset < end.offset, 'the shipper was killed with an unshipped tail');
  // Restart: it resumes at its durable cursor and ships the rest.
  const second = runCli([...args, '--until-shipped'], { timeoutMs: 90_000 });
  assert.equal(second.status, 0, second.stderr);
  const c = log.readCursor('kafka')!;
  assert.deepEqual([c.segment, c.offset], [end.segment, end.offset], 'cursor at the end of the log');
  const stats = await assertTopicHoldsLog(dir, brokers, topic);
  t.diagnostic(`records ${stats.records}, duplicates removed ${stats.duplicates}`);
});

test('disk bound reached while the broker is down: one counted, signed gap record; shipped topic and local log verify', { timeout: 120_000 }, async (t) => {
  if (!requireTool(t, await brokerReachable(), 'a Kafka broker (npm run kafka:start)')) return;
  const brokers = brokerState()!.brokers;
  const topic = `diskbound.${randomBytes(3).toString('hex')}`;
  const init = runCli(['kafka', 'init', '--brokers', brokers.join(','), '--topic', topic, '--checkpoint-topic', `${topic}.cp`, '--preset', 'dev', '--partitions', '2']);
  assert.equal(init.status, 0, init.stderr);
  const dir = tmpDir();
  const { log, sealer } = await openSealed(dir, { segmentBytes: 8 * 1024, retentionBytes: 16 * 1024, maxBytes: 48 * 1024 });
  const gaps: number[] = [];
  log.setGapWriter((g) => {
    gaps.push(g.lostEvents);
    sealer.recordGap({ reason: 'disk-bound', lostEvents: g.lostEvents, fromSequence: Number(g.fromSequence), toSequence: Number(g.toSequence), detail: 'unshipped-deleted' });
  });
  const down = new KafkaShipper(log, kafkaSchema.parse({ enabled: true, brokers: [`127.0.0.1:${await freePort()}`], topic, checkpointTopic: `${topic}.cp`, retryInitialMs: 100, retryMaxMs: 400, connectionTimeoutMs: 500 }));
  down.start();
  for (let i = 0; i < 8; i++) {
    await sealEvents(sealer, 100);
    await sleep(5); // let the deferred gap writer run
  }
  await down.stop();
  assert.equal(down.stats.shipped, 0);
  assert.ok(gaps.length >= 1 && gaps.every((n) => n > 0), 'the disk bound deleted unshipped events and said so');
  assert.ok(log.shouldShed(), 'the sensor is told to shed raw events at the source');
  // The broker is back: a shipper on the same durable cursor ships what is left.
  const up = new KafkaShipper(log, kafkaSchema.parse({ enabled: true, brokers, topic, checkpointTopic: `${topic}.cp` }));
  up.start();
  const gapsBeforeClose = gaps.reduce((a, n) => a + n, 0);
  await sealer.close();
  assert.equal(await up.waitShipped(log.end(), 60_000), true, String(up.stats.lastError));
  await up.stop();
  await sleep(150);
  assert.equal(log.shouldShed(), false, 'shedding stops once the shipper caught up');
  const shipped: Array<{ type: string; data: { reason?: string; lostEvents?: number } }> = [];
  for await (const ev of readTopic({ brokers, topic })) shipped.push(ev as never);
  const gapEvents = shipped.filter((e) => e.type === 'dev.agentrail.log.gap' && e.data.reason === 'disk-bound');
  assert.ok(gapEvents.length >= 1, 'the signed gap record reached Kafka');
  // Nothing was shipped before the broker came back, so every sequence before the first shipped one was
  // deleted unshipped; the surviving gap record(s) carry the whole count (earlier gap records deleted
  // in turn are folded into later ones).
  const firstSeq = Number((shipped[0] as unknown as { sequence: string }).sequence);
  assert.ok(firstSeq > 1);
  assert.equal(gapEvents.reduce((a, e) => a + (e.data.lostEvents ?? 0), 0), firstSeq - 1, 'gap records count every deleted event');
  assert.equal(Math.min(...gapEvents.map((e) => Number((e.data as { fromSequence?: string }).fromSequence))), 1, 'the gap records start at the first lost sequence');
  assert.ok(gapsBeforeClose >= firstSeq - 1);
  const rep = await verifyLines(kafkaReadLines(`kafka://${brokers.join(',')}/${topic}`), false, true);
  assert.equal(rep.ok, true, JSON.stringify(rep.failure));
  assert.equal((await verifyDir(dir, false, true)).ok, true);
});
