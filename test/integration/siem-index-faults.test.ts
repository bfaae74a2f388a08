/**
 * `agentrail index` under faults (issue 14), against a private OpenSearch node (the shared one is
 * never disturbed) and the real Kafka broker: the node is SIGKILLed mid-stream while events keep
 * arriving on the topic, the indexer retries (counted, logged), and after the node restarts on the
 * same data every event is there exactly once; the same for a private Kafka broker SIGKILLed and
 * restarted under the indexer. Bad configuration is one clear line.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import kafkajs from 'kafkajs';
import { Client } from '@opensearch-project/opensearch';
import { cliEntry, repoRoot } from '../../src/paths.js';
import { requireTool } from '../helpers/privileges.js';
import { PrivateBroker, brokerReachable, brokerState, kafkaJarsPresent } from '../helpers/kafka.js';
import { PrivateOpenSearch, allDocs, docCount, opensearchJarsPresent, opensearchReachable, opensearchUrl, spawnIndexer } from '../helpers/opensearch.js';
import { KafkaShipper } from '../../src/sink/kafka-shipper.js';
import { kafkaSchema } from '../../src/config/sink.js';
import { openSealed, sealEvents, tmpDir } from '../sink/sealed.js';

const { Kafka, logLevel } = kafkajs;
const env = { ...process.env, AGENTRAIL_ROOT: repoRoot, AGENTRAIL_LOG_LEVEL: 'info' };

function freeTcpPort(): Promise<number> {
  return new Promise((r) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const p = (srv.address() as { port: number }).port;
      srv.close(() => r(p));
    });
  });
}

async function until(what: string, fn: () => Promise<boolean>, ms: number, detail: () => string = () => ''): Promise<void> {
  const t0 = Date.now();
  while (!(await fn())) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what} ${detail()}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

test('index: OpenSearch killed mid-stream and restarted on its data: the indexer retries, then every event is there exactly once', { timeout: 300_000 }, async (t) => {
  if (!requireTool(t, await brokerReachable(), 'a Kafka broker (npm run kafka:start)')) return;
  if (!requireTool(t, opensearchJarsPresent(), 'the OpenSearch jars (.ci/setup.d/70-opensearch.sh)')) return;
  const brokers = brokerState()!.brokers;
  const os = new PrivateOpenSearch();
  t.after(() => os.stop());
  const url = os.start().url;
  const client = new Client({ node: url });
  t.after(() => client.close());
  const s = randomBytes(4).toString('hex');
  const topic = `test.siem.faults.${s}`;
  const index = `agentrail-ecs-faults-${s}`;
  const admin = new Kafka({ clientId: 't', brokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  await admin.createTopics({ waitForLeaders: true, topics: [topic, `${topic}.cp`].map((n) => ({ topic: n, numPartitions: 3 })) });
  await admin.disconnect();

  const { log, sealer } = await openSealed(tmpDir(), {});
  const shipper = new KafkaShipper(log, kafkaSchema.parse({ enabled: true, brokers, topic, checkpointTopic: `${topic}.cp`, lingerMs: 5 }));
  shipper.start();
  t.after(() => shipper.stop());
  await sealEvents(sealer, 60, 20);
  assert.equal(await shipper.waitShipped(log.end(), 60_000), true);

  const ix = spawnIndexer(t, [`kafka://${brokers.join(',')}/${topic}`, '--opensearch', url, '--index', index, '--group', `g-${s}`]);
  const indexer = ix.child;
  const exited = ix.exit;
  const first = [...log.scan()].length;
  await until('the first events indexed', async () => (await docCount(client, index)) >= first, 90_000, () => ix.err().slice(-1500));

  os.kill();
  await sealEvents(sealer, 60, 20);
  await sealer.close();
  assert.equal(await shipper.waitShipped(log.end(), 60_000), true, 'the new events are on the topic');
  await until('the indexer to report failing bulk requests', async () => ix.err().includes('SIEM_RETRY'), 60_000, () => ix.err().slice(-1500));

  os.restart();
  const ids = [...log.scan()].map((e) => (JSON.parse(e.line) as { id: string }).id);
  await until('every event indexed after the restart', async () => (await docCount(client, index)) >= ids.length, 120_000, () => ix.err().slice(-1500));
  indexer.kill('SIGTERM');
  assert.equal(await exited, 0, ix.err().slice(-2000));
  const stats = JSON.parse(ix.out().trim().split('\n').at(-1)!) as { indexed: number; rejected: number; retries: number };
  assert.equal(stats.rejected, 0);
  assert.ok(stats.retries > 0, 'the outage shows in the counts');
  const docs = await allDocs(client, index);
  assert.equal(docs.size, ids.length, 'exactly one document per event');
  assert.deepEqual(new Set(docs.keys()), new Set(ids));
});

test('index: the Kafka broker SIGKILLed mid-stream and restarted: the indexer resumes, every event exactly once', { timeout: 300_000 }, async (t) => {
  if (!requireTool(t, kafkaJarsPresent(), 'the Kafka jars (node scripts/kafka.mjs fetch)')) return;
  if (!requireTool(t, await opensearchReachable(), 'OpenSearch (npm run opensearch:start)')) return;
  const port = await freeTcpPort();
  const broker = new PrivateBroker(port);
  t.after(() => broker.stop());
  broker.start();
  const brokers = [`127.0.0.1:${port}`];
  const url = opensearchUrl()!;
  const client = new Client({ node: url });
  const s = randomBytes(4).toString('hex');
  const topic = `test.siem.broker.${s}`;
  const index = `agentrail-ecs-broker-${s}`;
  t.after(async () => {
    await client.indices.delete({ index }).catch(() => {});
    await client.close();
  });
  const admin = new Kafka({ clientId: 't', brokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  await admin.createTopics({ waitForLeaders: true, topics: [topic, `${topic}.cp`].map((n) => ({ topic: n, numPartitions: 3 })) });
  await admin.disconnect();
  const { log, sealer } = await openSealed(tmpDir(), {});
  const shipper = new KafkaShipper(log, kafkaSchema.parse({ enabled: true, brokers, topic, checkpointTopic: `${topic}.cp`, lingerMs: 5, retryInitialMs: 100, retryMaxMs: 800, connectionTimeoutMs: 1000 }));
  shipper.start();
  t.after(() => shipper.stop());
  await sealEvents(sealer, 60, 20);
  assert.equal(await shipper.waitShipped(log.end(), 60_000), true);

  const ix = spawnIndexer(t, [`kafka://${brokers[0]}/${topic}`, '--opensearch', url, '--index', index, '--group', `g-${s}`]);
  const indexer = ix.child;
  const exited = ix.exit;
  await until('the first events indexed', async () => (await docCount(client, index)) >= 60, 90_000, () => ix.err().slice(-1500));

  broker.kill();
  await sealEvents(sealer, 60, 20); // sealed while the broker is down: the shipper holds them
  await new Promise((r) => setTimeout(r, 3000));
  broker.restart();
  await sealer.close();
  assert.equal(await shipper.waitShipped(log.end(), 90_000), true, `shipped after the restart: ${shipper.stats.lastError}`);
  const ids = [...log.scan()].map((e) => (JSON.parse(e.line) as { id: string }).id);
  await until('every event indexed after the broker restart', async () => (await docCount(client, index)) >= ids.length, 180_000, () => `${indexer.exitCode === null ? 'running' : `exited ${indexer.exitCode}`}: ${ix.err().slice(-1500)}`);
  indexer.kill('SIGTERM');
  assert.equal(await exited, 0, ix.err().slice(-2000));
  const docs = await allDocs(client, index);
  assert.equal(docs.size, ids.length, 'exactly one document per event');
  assert.deepEqual(new Set(docs.keys()), new Set(ids));
  assert.equal((JSON.parse(ix.out().trim().split('\n').at(-1)!) as { rejected: number }).rejected, 0);
});

test('index: bad configuration is one clear line with a stable code', async () => {
  const cli = (args: string[]) => spawnSync(process.execPath, [cliEntry, 'index', ...args], { env, encoding: 'utf8', timeout: 60_000 });
  const dir = tmpDir();
  const { sealer } = await openSealed(dir, {});
  await sealEvents(sealer, 3, 3);
  await sealer.close();
  const oneLine = (r: ReturnType<typeof cli>, code: RegExp) => {
    assert.notEqual(r.status, 0);
    const lines = r.stderr.trim().split('\n').filter((l) => !l.startsWith('{'));
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0]!, code);
  };
  oneLine(cli([dir]), /USAGE_INDEX/);
  oneLine(cli([dir, '--opensearch', 'ftp://example']), /CONFIG_OPENSEARCH_URL/);
  oneLine(cli([dir, '--opensearch', 'http://127.0.0.1:9', '--index', 'Bad Name']), /USAGE_INDEX/);
  // A port nothing listens on: the indexer gives up at start, naming the node.
  const port = await freeTcpPort();
  const down = cli([dir, '--opensearch', `http://127.0.0.1:${port}`, '--startup-timeout-ms', '1500']);
  oneLine(down, new RegExp(`UNAVAILABLE_OPENSEARCH: OpenSearch at http://127\\.0\\.0\\.1:${port}`));
});
