import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import kafkajs from 'kafkajs';
import { requireTool } from '../helpers/privileges.js';
import { brokerReachable, brokerState } from '../helpers/kafka.js';
import { rawRecords } from '../helpers/kafka-records.js';
import { runCli, spawnCli } from '../helpers/cli.js';
import { repoRoot } from '../../src/paths.js';
import { KafkaShipper } from '../../src/sink/kafka-shipper.js';
import { ShipperThread } from '../../src/sink/kafka-ship-thread.js';
import { kafkaSchema } from '../../src/config/sink.js';
import { kafkaReadLines } from '../../src/sink/kafka-reader.js';
import { readSource } from '../../src/verify/node-reader.js';
import { openSealed, sealEvents, testKey, tmpDir, verifyLines } from '../sink/sealed.js';

const { Kafka, logLevel } = kafkajs;


// The sensor ships from its own thread by default (sink.kafka.thread); `agentrail kafka ship` on its own one.
for (const [mode, compression, where] of [
  ['binary', 'lz4', 'thread'],
  ['structured', 'zstd', 'main'],
] as const) {
  test(`shipper (${mode} mode, ${compression}, ${where === 'thread' ? 'shipper thread' : 'main thread'}): exactly once by id, chain order per partition, headers, checkpoint topic, verify/export/tail`, async (t) => {
    if (!requireTool(t, await brokerReachable(), 'a Kafka broker (npm run kafka:start)')) return;
    const brokers = brokerState()!.brokers;
    const suffix = randomBytes(4).toString('hex');
    const topic = `test.events.${mode}.${suffix}`;
    const cpTopic = `test.checkpoints.${mode}.${suffix}`;
    // Topics come from `agentrail kafka init` with a compliance preset.
    const init = runCli(['kafka', 'init', '--brokers', brokers.join(','), '--topic', topic, '--checkpoint-topic', cpTopic, '--preset', 'hipaa', '--partitions', '3']);
    assert.equal(init.status, 0, init.stderr);
    assert.match(init.stdout, new RegExp(`created ${topic.replace(/\./g, '\\.')}: retention 2192 days`));
    const admin = new Kafka({ clientId: 't', brokers, logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    const cfgs = await admin.describeConfigs({ includeSynonyms: false, resources: [{ type: 2, name: topic, configNames: ['retention.ms'] }] });
    assert.equal(cfgs.resources[0]!.configEntries.find((c) => c.configName === 'retention.ms')?.configValue, String(2192 * 86_400_000));
    assert.equal((await admin.fetchTopicOffsets(topic)).length, 3);
    await admin.disconnect();

    const dir = tmpDir();
    const { log, sealer } = await openSealed(dir, { segmentBytes: 32 * 1024 });
    const cfg = kafkaSchema.parse({ enabled: true, brokers, topic, checkpointTopic: cpTopic, mode, compression, batchSize: 64, lingerMs: 5, thread: where === 'thread' });
    const shipper = where === 'thread' ? new ShipperThread(log, cfg) : new KafkaShipper(log, cfg);
    await shipper.start();
    await sealEvents(sealer, 200, 25); // shipping while sealing
    await sealer.close();
    assert.equal(await shipper.waitShipped(log.end(), 60_000), true, `not shipped: ${shipper.stats.lastError}`);
    await shipper.stop();
    const lines = [...log.scan()].map((e) => e.line);
    const events = lines.map((l) => JSON.parse(l) as { id: string; sequence: string; type: string; partitionkey?: string; source: string });
    assert.equal(log.readCursor('kafka')!.offset, log.end().offset, 'cursor at the end after acknowledgement');

    const recs = await rawRecords(brokers, topic);
    assert.equal(recs.length, events.length, 'exactly once: one record per sealed event (clean run)');
    const ids = recs.map((r) => (mode === 'binary' ? r.headers['ce_id']! : (JSON.parse(r.value) as { id: string }).id));
    assert.equal(new Set(ids).size, ids.length, 'no duplicate ids');
    assert.deepEqual(new Set(ids), new Set(events.map((e) => e.id)));
    assert.ok(new Set(recs.map((r) => r.partition)).size > 1, 'records spread over several partitions');
    const byId = new Map(events.map((e) => [e.id, e]));
    const lastSeq = new Map<number, bigint>();
    for (const [i, r] of recs.entries()) {
      const ev = byId.get(ids[i]!)!;
      assert.equal(r.key, ev.partitionkey ?? ev.source, 'record key = partitionkey');
      if (mode === 'binary') {
        assert.equal(r.headers['ce_specversion'], '1.0');
        assert.equal(r.headers['ce_type'], ev.type);
        assert.equal(r.headers['ce_source'], ev.source);
        assert.equal(r.headers['ce_sequence'], ev.sequence);
        assert.equal(r.headers['content-type'], 'application/json');
      } else {
        assert.equal(r.headers['content-type'], 'application/cloudevents+json');
        assert.equal(r.value, lines[Number(ev.sequence) - 1], 'structured value = the sealed line');
      }
    }
    for (const r of [...recs].sort((a, b) => (a.partition - b.partition) || Number(a.offset - b.offset))) {
      const seq = BigInt(byId.get(mode === 'binary' ? r.headers['ce_id']! : (JSON.parse(r.value) as { id: string }).id)!.sequence);
      const prev = lastSeq.get(r.partition);
      assert.ok(prev === undefined || seq > prev, `chain order within partition ${r.partition}`);
      lastSeq.set(r.partition, seq);
    }
    const cps = await rawRecords(brokers, cpTopic);
    assert.equal(cps.length, events.filter((e) => e.type === 'dev.agentrail.log.checkpoint').length, 'every checkpoint on the checkpoint topic');

    // The verifier reads the topic (all partitions, rebuilt, deduped, chain order).
    const url = `kafka://${brokers.join(',')}/${topic}`;
    const rep = await verifyLines(kafkaReadLines(url));
    assert.equal(rep.ok, true, JSON.stringify(rep.failure));
    assert.equal(rep.lines, events.length);
    const keyring = join(tmpDir(), 'keyring.txt');
    writeFileSync(keyring, testKey.verifier + '\n');
    const vr = runCli(['verify', url, '--keys', keyring]);
    assert.equal(vr.status, 0, vr.stdout + vr.stderr);
    assert.match(vr.stdout, /^OK /);

    // export: topic → file identical to the local log; verify reads it.
    const out = join(tmpDir(), 'export.jsonl');
    const ex = runCli(['export', url, '--out', out]);
    assert.equal(ex.status, 0, ex.stderr);
    assert.equal(readFileSync(out, 'utf8'), lines.join('\n') + '\n', 'export of the topic = the local log, byte for byte');
    assert.equal((await verifyLines(readSource(out))).ok, true);

    // tail with a filter, JSON output.
    const tl = runCli(['tail', url, '--json', '--type', 'tool.invocation']);
    assert.equal(tl.status, 0, tl.stderr);
    const tailed = tl.stdout.trim().split('\n').map((l) => JSON.parse(l) as { type: string });
    assert.equal(tailed.length, events.filter((e) => e.type === 'dev.agentrail.tool.invocation').length);
    assert.ok(tailed.every((e) => e.type === 'dev.agentrail.tool.invocation'));

    // investigate verifies the topic before it answers; policy test replays the topic through the rules.
    const inv = runCli(['investigate', url, '--keys', keyring, '--json']);
    assert.equal(inv.status, 0, inv.stderr);
    const ij = JSON.parse(inv.stdout) as { integrity: { checked: boolean; ok: boolean; signatures: boolean; range: string } };
    assert.deepEqual([ij.integrity.checked, ij.integrity.ok, ij.integrity.signatures], [true, true, true]);
    assert.equal(ij.integrity.range, `${(events[0] as { sequence?: string }).sequence}..${(events[events.length - 1] as { sequence?: string }).sequence}`);
    const pt = runCli(['policy', 'test', join(repoRoot, 'policy', 'default-rules.yaml'), url]);
    assert.equal(pt.status, 0, pt.stderr);
    assert.match(pt.stderr, new RegExp(`policy test: ${events.length} events`));

    if (mode === 'binary') {
      // tail -f follows the topic: every event arrives once; SIGTERM ends it cleanly.
      const child = spawnCli(['tail', url, '-f', '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
      const t0 = Date.now();
      while (out.split('\n').length - 1 < events.length && Date.now() - t0 < 30_000) await new Promise((r) => setTimeout(r, 100));
      child.kill('SIGTERM');
      const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
      assert.equal(code, 0);
      const followed = out.trim().split('\n').map((l) => (JSON.parse(l) as { id: string }).id);
      assert.equal(followed.length, events.length);
      assert.deepEqual(new Set(followed), new Set(events.map((e) => e.id)));
    }
  });
}

test('an event larger than the broker accepts is counted and skipped on Kafka (kept locally), shipping goes on', async (t) => {
  if (!requireTool(t, await brokerReachable(), 'a Kafka broker (npm run kafka:start)')) return;
  const brokers = brokerState()!.brokers;
  const topic = `test.toolarge.${randomBytes(4).toString('hex')}`;
  assert.equal(runCli(['kafka', 'init', '--brokers', brokers.join(','), '--topic', topic, '--checkpoint-topic', `${topic}.cp`, '--preset', 'dev', '--partitions', '1']).status, 0);
  const { LocalLog } = await import('../../src/sink/local-log.js');
  const { registry } = await import('../../src/observability/metrics.js');
  const dropped = async () =>
    ((await registry.getMetricsAsJSON()).find((m) => m.name === 'agentrail_dropped_total')?.values ?? [])
      .filter((v) => v.labels.reason === 'kafka_message_too_large')
      .reduce((a, v) => a + Number(v.value), 0);
  const before = await dropped();
  const log = new LocalLog(tmpDir(), { fsync: 'never' });
  const ev = (id: string, data: unknown) => JSON.stringify({ data, datacontenttype: 'application/json', id, source: 's', specversion: '1.0', time: '2026-01-01T00:00:00.000000Z', type: 'dev.agentrail.error' });
  log.appendLines([ev('a', { n: 1 }), ev('big', { blob: randomBytes(900 * 1024).toString('base64') }), ev('c', { n: 3 })]);
  const shipper = new KafkaShipper(log, kafkaSchema.parse({ enabled: true, brokers, topic, checkpointTopic: `${topic}.cp`, compression: 'none', batchMaxBytes: 4 * 1024 * 1024 }));
  shipper.start();
  assert.equal(await shipper.waitShipped(log.end(), 60_000), true, String(shipper.stats.lastError));
  await shipper.stop();
  const recs = await rawRecords(brokers, topic);
  assert.deepEqual(recs.map((r) => r.headers['ce_id']), ['a', 'c']);
  assert.equal((await dropped()) - before, 1, 'the skipped event is counted');
  log.closeSync();
});
