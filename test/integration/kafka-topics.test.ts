/**
 * sink.kafka.topics (issue 14): the shipper publishes the sealed events to more topics, each in its
 * own format, keyed by event id, in the same acknowledged produce request as the CloudEvents topic,
 * against the real broker. A missing extra topic holds the cursor (nothing lost, nothing skipped)
 * until it exists. Duplicate topic names and unknown formats are one clear configuration line.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import kafkajs from 'kafkajs';
import { requireTool } from '../helpers/privileges.js';
import { brokerReachable, brokerState } from '../helpers/kafka.js';
import { rawRecords } from '../helpers/kafka-records.js';
import { KafkaShipper } from '../../src/sink/kafka-shipper.js';
import { kafkaSchema } from '../../src/config/sink.js';
import { parseConfig } from '../../src/config/load.js';
import { openSealed, sealEvents, tmpDir } from '../sink/sealed.js';
import { runCli } from '../helpers/cli.js';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

const { Kafka, logLevel } = kafkajs;
const leaf = (line: string) => createHash('sha256').update(Buffer.concat([Buffer.from([0]), Buffer.from(line, 'utf8')])).digest('hex');

test('sink.kafka.topics: every sealed event on every extra topic in its format, keyed by event id; a missing topic holds the cursor until it exists', { timeout: 180_000 }, async (t) => {
  if (!requireTool(t, await brokerReachable(), 'a Kafka broker (npm run kafka:start)')) return;
  const brokers = brokerState()!.brokers;
  const s = randomBytes(4).toString('hex');
  const topic = `test.mt.events.${s}`;
  const extra = { ocsf: `test.mt.ocsf.${s}`, ecs: `test.mt.ecs.${s}`, 'splunk-hec': `test.mt.hec.${s}`, cloudevents: `test.mt.ce.${s}` };
  const admin = new Kafka({ clientId: 't', brokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  t.after(() => admin.disconnect());
  // The ECS topic is created only later: until then no batch may count as shipped.
  await admin.createTopics({ waitForLeaders: true, topics: [topic, `${topic}.cp`, extra.ocsf, extra['splunk-hec'], extra.cloudevents].map((n) => ({ topic: n, numPartitions: 2 })) });

  const dir = tmpDir();
  const { log, sealer } = await openSealed(dir, { segmentBytes: 32 * 1024 });
  const cfg = kafkaSchema.parse({
    enabled: true,
    brokers,
    topic,
    checkpointTopic: `${topic}.cp`,
    batchSize: 50,
    lingerMs: 5,
    retryInitialMs: 100,
    retryMaxMs: 500,
    topics: Object.entries(extra).map(([format, name]) => ({ name, format })),
  });
  const shipper = new KafkaShipper(log, cfg);
  shipper.start();
  await sealEvents(sealer, 120, 20);
  await sealer.close();
  assert.equal(await shipper.waitShipped(log.end(), 3000), false, 'nothing counts as shipped while one topic is missing');
  assert.equal(log.readCursor('kafka')?.offset ?? 0, 0, 'the cursor has not moved');
  assert.ok(shipper.stats.failures > 0, 'the failed attempts are counted');

  await admin.createTopics({ waitForLeaders: true, topics: [{ topic: extra.ecs, numPartitions: 2 }] });
  assert.equal(await shipper.waitShipped(log.end(), 60_000), true, `not shipped: ${shipper.stats.lastError}`);
  await shipper.stop();

  const lines = [...log.scan()].map((e) => e.line);
  const events = lines.map((l) => JSON.parse(l) as { id: string; time: string; type: string });
  const lineOf = new Map(events.map((e, i) => [e.id, lines[i]!]));
  const ids = new Set(events.map((e) => e.id));

  for (const [format, name] of Object.entries(extra)) {
    const recs = await rawRecords(brokers, name);
    const keys = recs.map((r) => r.key!);
    // At least once: a batch retried after a partial failure may repeat; every id arrives, keyed by itself.
    assert.deepEqual(new Set(keys), ids, `${format}: every sealed event, keyed by its event id`);
    for (const r of recs) {
      const v = JSON.parse(r.value) as Record<string, any>;
      const line = lineOf.get(r.key!)!;
      if (format === 'ocsf') {
        assert.equal(v['metadata'].uid, r.key);
        assert.equal(v['unmapped'].leaf_hash, leaf(line));
      } else if (format === 'ecs') {
        assert.equal(v['event'].id, r.key);
        assert.equal(v['agentrail'].leaf_hash, leaf(line));
        assert.equal(v['@timestamp'], (JSON.parse(line) as { time: string }).time);
      } else if (format === 'splunk-hec') {
        assert.equal(v['fields'].event_id, r.key);
        assert.deepEqual(v['event'], JSON.parse(line));
      } else {
        assert.equal(r.headers['ce_id'], r.key, 'CloudEvents binary mode on an extra topic');
        assert.deepEqual(v, (JSON.parse(line) as { data: unknown }).data);
      }
      if (format !== 'cloudevents') assert.equal(r.headers['agentrail-format'], format);
    }
  }
  // The evidence topic is unchanged by the extra topics: every event, rebuilt from binary mode.
  assert.deepEqual(new Set((await rawRecords(brokers, topic)).map((r) => r.headers['ce_id'])), ids);
});

test('kafka init --config creates the sink.kafka.topics too, with the events topic retention', { timeout: 60_000 }, async (t) => {
  if (!requireTool(t, await brokerReachable(), 'a Kafka broker (npm run kafka:start)')) return;
  const brokers = brokerState()!.brokers;
  const s = randomBytes(4).toString('hex');
  const dir = tmpDir();
  const cfg = join(dir, 'c.yaml');
  writeFileSync(cfg, ['sink:', '  kafka:', '    enabled: true', `    brokers: [${brokers.join(', ')}]`, `    topic: test.init.${s}`, `    checkpointTopic: test.init.cp.${s}`, '    topics:', `      - { name: test.init.ecs.${s}, format: ecs }`, ''].join('\n'));
  const r = runCli(['kafka', 'init', '--config', cfg, '--preset', 'dev', '--partitions', '2']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`created test\\.init\\.ecs\\.${s}: retention 7 days`));
  const admin = new Kafka({ clientId: 't', brokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  assert.equal((await admin.fetchTopicOffsets(`test.init.ecs.${s}`)).length, 2);
  await admin.disconnect();
});

test('sink.kafka.topics: a duplicate topic or an unknown format is one clear configuration line', () => {
  const dup = () => parseConfig({ sink: { kafka: { enabled: true, brokers: ['127.0.0.1:9'], topic: 'a', topics: [{ name: 'b', format: 'ecs' }, { name: 'b', format: 'ocsf' }] } } });
  assert.throws(dup, (e: Error & { code?: string }) => e.code === 'CONFIG_INVALID' && /sink\.kafka\.topics\.1\.name: topic "b" appears twice/.test(e.message) && !e.message.includes('\n'));
  const same = () => parseConfig({ sink: { kafka: { topic: 'a', topics: [{ name: 'a', format: 'ecs' }] } } });
  assert.throws(same, /topic "a" appears twice/);
  const fmt = () => parseConfig({ sink: { kafka: { topics: [{ name: 'x', format: 'leef' }] } } });
  assert.throws(fmt, (e: Error & { code?: string }) => e.code === 'CONFIG_INVALID' && /sink\.kafka\.topics\.0\.format/.test(e.message));
});
