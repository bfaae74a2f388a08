/**
 * SIEM benchmark (issue 14), on this machine's real parts:
 *   npm run build && node dist/bench/siem.js [seconds-per-format=2] [index-docs=20000] [rate=50] [latency-seconds=10]
 *
 * 1. Mapping, one core: the sealed events of every recorded capture (replayed through the
 *    production pipeline) mapped round-robin to OCSF, ECS and Splunk HEC and serialized, records/s,
 *    side by side with JSON.stringify of the sealed CloudEvent itself (ratio = format / baseline).
 * 2. Bulk indexing: index-docs ECS documents into the OpenSearch node (npm run opensearch:start)
 *    through OpenSearchBulkWriter (batches of 500), docs/s until acknowledged.
 * 3. End-to-end latency at a steady load: seal (event time) → local log → shipper → Kafka →
 *    indexer (consumer group) → OpenSearch → found by a search (refresh interval 1 s, the default):
 *    p50 / p99 of "sealed → searchable".
 * Prints the figures and ends with one JSON line; asserts nothing about speed.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import kafkajs from 'kafkajs';
import { Client } from '@opensearch-project/opensearch';
import type { CloudEvent } from '../src/contracts/envelope.js';
import { EventTypes, makeEnvelope } from '../src/contracts/envelope.js';
import { Sealer } from '../src/seal/sealer.js';
import { KeySet, generateKey } from '../src/seal/keys.js';
import { LocalLog } from '../src/sink/local-log.js';
import { KafkaShipper } from '../src/sink/kafka-shipper.js';
import { kafkaSchema } from '../src/config/sink.js';
import { mapperFor, type Format } from '../src/sink/formats/index.js';
import { OpenSearchBulkWriter } from '../src/sink/opensearch/bulk-writer.js';
import { runKafkaIndexer } from '../src/sink/opensearch/kafka-indexer.js';
import { cliEntry, repoRoot } from '../src/paths.js';

const { Kafka, logLevel } = kafkajs;
const SECS = Number(process.argv[2] ?? 2);
const DOCS = Number(process.argv[3] ?? 20_000);
const RATE = Number(process.argv[4] ?? 50);
const LAT_SECS = Number(process.argv[5] ?? 10);
const work = mkdtempSync(join(tmpdir(), 'agentrail-bench-siem-'));
process.on('exit', () => rmSync(work, { recursive: true, force: true }));

const state = (name: string) => JSON.parse(readFileSync(join(repoRoot, '.cache', name, 'state.json'), 'utf8'));
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};

// 1. Mapping throughput on real sealed events.
const cfg = join(work, 'c.yaml');
writeFileSync(cfg, 'observability:\n  httpEnabled: false\n');
const capDir = join(repoRoot, 'test', 'fixtures', 'captures');
const events: CloudEvent[] = [];
for (const f of readdirSync(capDir).filter((x) => x.endsWith('.arcap'))) {
  const logDir = join(work, f);
  const r = spawnSync(process.execPath, [cliEntry, 'run', '--replay', join(capDir, f), '--log-dir', logDir, '--config', cfg], { env: { ...process.env, AGENTRAIL_LOG_LEVEL: 'warn' }, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`replay ${f}: ${r.stderr.slice(-500)}`);
  for (const s of readdirSync(join(logDir, 'segments')).sort()) for (const l of readFileSync(join(logDir, 'segments', s), 'utf8').split('\n')) if (l) events.push(JSON.parse(l) as CloudEvent);
}
function rate(fn: (ev: CloudEvent) => string): number {
  let n = 0;
  let bytes = 0;
  const t0 = process.hrtime.bigint();
  const until = t0 + BigInt(Math.round(SECS * 1e9));
  while (process.hrtime.bigint() < until) {
    for (let i = 0; i < 500; i++) bytes += fn(events[(n + i) % events.length]!).length;
    n += 500;
  }
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  if (bytes < 0) throw new Error('unreachable');
  return n / s;
}
const baseline = rate((ev) => JSON.stringify(ev));
const mapping: Record<string, { records_per_s: number; ratio_to_json: number }> = {};
for (const f of ['ocsf', 'ecs', 'splunk-hec'] as Format[]) {
  const map = mapperFor(f)!;
  const r = rate((ev) => JSON.stringify(map(ev)));
  mapping[f] = { records_per_s: Math.round(r), ratio_to_json: Number((r / baseline).toFixed(3)) };
}
process.stdout.write(`mapping (${events.length} sealed events from the recorded captures, ${SECS} s each, one core):\n`);
process.stdout.write(`  JSON.stringify(CloudEvent) baseline  ${Math.round(baseline)} records/s\n`);
for (const [f, m] of Object.entries(mapping)) process.stdout.write(`  ${f.padEnd(12)} ${String(m.records_per_s).padStart(9)} records/s  (${m.ratio_to_json} × baseline)\n`);

// 2. Bulk indexing throughput.
const url = (state('opensearch') as { url: string }).url;
const client = new Client({ node: url });
const index = `agentrail-ecs-bench-${randomBytes(3).toString('hex')}`;
const writer = new OpenSearchBulkWriter({ url, index });
await writer.ensureTemplate();
const docs = Array.from({ length: DOCS }, (_, i) => ({ ...events[i % events.length]!, id: `bench-${i}` }));
const t0 = performance.now();
for (let i = 0; i < docs.length; i += 500) await writer.write(docs.slice(i, i + 500));
const bulkS = (performance.now() - t0) / 1000;
const bulkRate = Math.round(DOCS / bulkS);
process.stdout.write(`bulk indexing: ${DOCS} ECS docs in ${bulkS.toFixed(1)} s = ${bulkRate} docs/s (rejected ${writer.stats.rejected})\n`);
await client.indices.delete({ index });

// 3. Sealed → searchable latency at a steady load.
const brokers = (state('kafka') as { brokers: string[] }).brokers;
const topic = `bench.siem.${randomBytes(3).toString('hex')}`;
const admin = new Kafka({ clientId: 'bench', brokers, logLevel: logLevel.NOTHING }).admin();
await admin.connect();
await admin.createTopics({ waitForLeaders: true, topics: [topic, `${topic}.cp`].map((t) => ({ topic: t, numPartitions: 3 })) });
const key = generateKey('bench');
const log = new LocalLog(join(work, 'lat'), { fsync: 1000 });
const sealer = await Sealer.open({ sink: log, source: 'urn:agentrail:bench:siem', keys: new KeySet([key.key]), checkpointEvents: 1000 });
const shipper = new KafkaShipper(log, kafkaSchema.parse({ enabled: true, brokers, topic, checkpointTopic: `${topic}.cp`, lingerMs: 5 }));
shipper.start();
const latIndex = `agentrail-ecs-bench-lat-${randomBytes(3).toString('hex')}`;
const abort = new AbortController();
const idxWriter = new OpenSearchBulkWriter({ url, index: latIndex, signal: abort.signal });
const indexer = runKafkaIndexer({ kafka: {}, brokers, topic, groupId: `bench-${topic}`, writer: idxWriter, signal: abort.signal });
const sealedAt = new Map<string, number>();
const latencies: number[] = [];
const total = Math.round(RATE * LAT_SECS);
const poller = (async () => {
  while (latencies.length < total && !abort.signal.aborted) {
    const pending = [...sealedAt.keys()];
    if (pending.length) {
      try {
        const r = await client.search({ index: latIndex, body: { size: pending.length, _source: false, query: { terms: { 'event.id': pending } } } as never });
        const now = performance.now();
        for (const h of (r.body as any).hits.hits as Array<{ _id: string }>) {
          const at = sealedAt.get(h._id);
          if (at !== undefined) {
            latencies.push(now - at);
            sealedAt.delete(h._id);
          }
        }
      } catch {
        /* the index appears with the first bulk */
      }
    }
    await new Promise((r) => setTimeout(r, 20));
  }
})();
const start = performance.now();
for (let i = 0; i < total; i++) {
  const due = start + (i * 1000) / RATE;
  const wait = due - performance.now();
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  const ev = sealer.seal(makeEnvelope({ type: EventTypes.toolInvocation, source: 'urn:agentrail:bench:siem', data: { tool_name: 'bench', i } }));
  await sealer.flush();
  sealedAt.set(ev.event.id, performance.now());
}
await Promise.race([poller, new Promise((r) => setTimeout(r, 60_000))]);
abort.abort();
await indexer.catch(() => {});
await shipper.stop();
await sealer.close();
await admin.deleteTopics({ topics: [topic, `${topic}.cp`] }).catch(() => {});
await admin.disconnect();
await client.indices.delete({ index: latIndex }).catch(() => {});
await client.close();
const p50 = pct(latencies, 50);
const p99 = pct(latencies, 99);
process.stdout.write(`sealed → searchable in OpenSearch at ${RATE} events/s for ${LAT_SECS} s: ${latencies.length}/${total} found, p50 ${p50.toFixed(0)} ms, p99 ${p99.toFixed(0)} ms (refresh interval 1 s)\n`);
process.stdout.write(
  JSON.stringify({
    bench: 'siem',
    sealed_events: events.length,
    json_baseline_records_per_s: Math.round(baseline),
    mapping,
    bulk_docs_per_s: bulkRate,
    e2e: { rate: RATE, seconds: LAT_SECS, found: latencies.length, total, p50_ms: Math.round(p50), p99_ms: Math.round(p99) },
  }) + '\n',
);
process.exit(0);
