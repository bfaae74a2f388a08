/**
 * Delivery benchmark against the real broker (npm run kafka:start):
 *   npm run build:ts && node dist/bench/kafka.js [events=20000] [rate=2000] [seconds=10]
 *   (KAFKA_BENCH_SHIP_ONLY=1: the shipper configurations only)
 *
 * 1. Shipper throughput: N sealed events already in the local log → Kafka with acks=all
 *    (idempotent), per configuration (SHIP_CONFIGS: the settings before tuning, then batch size,
 *    cursor sync and codec variants), measured until the last batch is acknowledged.
 * 2. Client comparison on identical pre-encoded CloudEvents records (binary mode, gzip, acks=all,
 *    idempotent, batches of 500, one request in flight): kafkajs vs @platformatic/kafka.
 * 3. End-to-end latency at a steady load: from the event's `time` (set when the event is built from
 *    the kernel records) through seal, local log, shipper (linger 5 ms) to a consumer in another
 *    process reading it (p50 / p99).
 * Prints numbers only; nothing asserts speed.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import kafkajs from 'kafkajs';
import { EventTypes, makeEnvelope } from '../src/contracts/envelope.js';
import { Sealer } from '../src/seal/sealer.js';
import { KeySet, generateKey } from '../src/seal/keys.js';
import { LocalLog } from '../src/sink/local-log.js';
import { KafkaShipper } from '../src/sink/kafka-shipper.js';
import { kafkaSchema } from '../src/config/sink.js';
import { toKafkaRecord } from '../src/sink/cloudevents-kafka.js';
import { compressionType, registerCodecs } from '../src/sink/kafka-client.js';
import { repoRoot } from '../src/paths.js';

const { Kafka, logLevel } = kafkajs;
const N = Number(process.argv[2] === '--consumer' ? 0 : (process.argv[2] ?? 20_000));
const RATE = Number(process.argv[3] ?? 2000);
const SECONDS = Number(process.argv[4] ?? 10);
const SOURCE = 'urn:agentrail:bench:node-1';

function brokers(): string[] {
  if (process.env.AGENTRAIL_KAFKA_BROKERS) return process.env.AGENTRAIL_KAFKA_BROKERS.split(',');
  const st = JSON.parse(readFileSync(join(repoRoot, '.cache', 'kafka', 'state.json'), 'utf8')) as { brokers: string[] };
  return st.brokers;
}
const BROKERS = brokers();
const key = generateKey('bench');

function event(i: number) {
  const trace = (i % 16).toString(16).padStart(32, '0');
  return makeEnvelope({
    type: EventTypes.modelInvocation,
    source: SOURCE,
    partitionkey: trace,
    traceparent: `00-${trace}-${i.toString(16).padStart(16, '0')}-01`,
    data: {
      agent: { id: 'did:agent:bench', name: 'bench-agent' },
      'gen_ai.request.model': 'gpt-4o-mini',
      'gen_ai.usage.input_tokens': 1200 + (i % 50),
      'gen_ai.usage.output_tokens': 300 + (i % 20),
      promptHash: 'sha256:' + randomBytes(32).toString('hex'),
      responseHash: 'sha256:' + randomBytes(32).toString('hex'),
      reasoning: { hash: 'sha256:' + randomBytes(32).toString('hex'), class: 'plan', tokens: 87 },
      outcome: 'success',
    },
  });
}

async function sealedLog(n: number): Promise<{ dir: string; log: LocalLog; sealer: Sealer }> {
  const dir = mkdtempSync(join(tmpdir(), 'agentrail-bench-'));
  const log = new LocalLog(dir, { fsync: 1000 });
  const sealer = await Sealer.open({ sink: log, source: SOURCE, keys: new KeySet([key.key]), checkpointEvents: 1000 });
  for (let i = 0; i < n; i++) {
    sealer.seal(event(i));
    if (i % 1000 === 999) await sealer.flush();
  }
  await sealer.flush();
  return { dir, log, sealer };
}

async function createTopic(topic: string, partitions = 6): Promise<void> {
  const admin = new Kafka({ clientId: 'bench', brokers: BROKERS, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: partitions }, { topic: `${topic}.cp`, numPartitions: 1 }] });
  await admin.disconnect();
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

type Compression = 'none' | 'gzip' | 'lz4' | 'zstd';
interface ShipConfig {
  label: string;
  compression: Compression;
  batchSize?: number;
  batchMaxBytes?: number;
  cursorSyncMs?: number;
  mode?: 'binary' | 'structured';
}
/** Shipper settings measured side by side: before this tuning (first), then the defaults and variants. */
const SHIP_CONFIGS: ShipConfig[] = [
  { label: 'before: batch 500, cursor file per batch', compression: 'gzip', batchSize: 500, cursorSyncMs: 0 },
  { label: 'cursor file per second (= defaults: a repeat shows the noise)', compression: 'gzip', batchSize: 500, cursorSyncMs: 1000 },
  ...(['gzip', 'lz4', 'zstd', 'none'] as const).map((c) => ({ label: 'defaults', compression: c })),
  { label: 'defaults, batch 5000 / 4 MiB', compression: 'lz4', batchSize: 5000, batchMaxBytes: 4 << 20 },
  // One header per record instead of one per attribute: kafkajs encodes headers in JS, per record.
  { label: 'defaults, structured mode', compression: 'gzip', mode: 'structured' },
];

async function shipperThroughput(log: LocalLog, c: ShipConfig, count: number): Promise<{ perS: number; cpuUsPerEvent: number }> {
  const topic = `bench.ship.${c.compression}.${randomBytes(3).toString('hex')}`;
  await createTopic(topic);
  const cfg = kafkaSchema.parse({
    enabled: true, brokers: BROKERS, topic, checkpointTopic: `${topic}.cp`, compression: c.compression, lingerMs: 0, cursor: `bench-${randomBytes(3).toString('hex')}`,
    ...(c.batchSize ? { batchSize: c.batchSize } : {}), ...(c.batchMaxBytes ? { batchMaxBytes: c.batchMaxBytes } : {}),
    ...(c.cursorSyncMs !== undefined ? { cursorSyncMs: c.cursorSyncMs } : {}), ...(c.mode ? { mode: c.mode } : {}),
  });
  const shipper = new KafkaShipper(log, cfg);
  const t0 = process.hrtime.bigint();
  const c0 = process.cpuUsage();
  shipper.start();
  const ok = await shipper.waitShipped(log.end(), 600_000);
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(c0);
  await shipper.stop();
  if (!ok) throw new Error(`shipper did not finish: ${shipper.stats.lastError}`);
  return { perS: count / s, cpuUsPerEvent: (cpu.user + cpu.system) / count };
}

async function kafkajsRaw(records: ReturnType<typeof toKafkaRecord>['record'][]): Promise<number> {
  const topic = `bench.kafkajs.${randomBytes(3).toString('hex')}`;
  await createTopic(topic);
  const p = new Kafka({ clientId: 'bench-kafkajs', brokers: BROKERS, logLevel: logLevel.NOTHING }).producer({ idempotent: true, maxInFlightRequests: 1 });
  await p.connect();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < records.length; i += 500) {
    const messages = records.slice(i, i + 500).map((r) => ({ key: r.key, value: r.value, headers: r.headers }));
    await p.send({ topic, messages, acks: -1, compression: compressionType('gzip') });
  }
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  await p.disconnect();
  return records.length / s;
}

async function platformaticRaw(records: ReturnType<typeof toKafkaRecord>['record'][]): Promise<number | string> {
  let mod: typeof import('@platformatic/kafka');
  try {
    mod = await import('@platformatic/kafka');
  } catch (e) {
    return `unavailable (${(e as Error).message.split('\n')[0]})`;
  }
  const topic = `bench.platformatic.${randomBytes(3).toString('hex')}`;
  await createTopic(topic);
  const p = new mod.Producer({ clientId: 'bench-platformatic', bootstrapBrokers: BROKERS, idempotent: true, acks: mod.ProduceAcks.ALL, compression: 'gzip' });
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < records.length; i += 500) {
    const messages = records.slice(i, i + 500).map((r) => ({ topic, key: Buffer.from(r.key ?? ''), value: r.value, headers: new Map(Object.entries(r.headers).map(([k, v]) => [Buffer.from(k), Buffer.from(v)])) }));
    await p.send({ messages });
  }
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  await p.close();
  return records.length / s;
}

/** Consumer in its own process (as a SIEM would be): latency = receive time − the event's `time`. */
async function consumerMain(topic: string, expected: number): Promise<void> {
  const lat: number[] = [];
  const consumer = new Kafka({ clientId: 'bench-consumer', brokers: BROKERS, logLevel: logLevel.NOTHING }).consumer({ groupId: `bench-${randomBytes(4).toString('hex')}`, maxWaitTimeInMs: 10 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  let done: () => void;
  const finished = new Promise<void>((r) => (done = r));
  await consumer.run({
    eachMessage: async ({ message }) => {
      const now = performance.timeOrigin + performance.now();
      const t = message.headers?.['ce_time']?.toString();
      if (t) lat.push(now - Date.parse(t) - Number(t.slice(23, 26)) / 1000);
      if (lat.length >= expected) done();
    },
  });
  process.stdout.write('ready\n');
  await Promise.race([finished, new Promise((r) => setTimeout(r, 120_000))]);
  await consumer.disconnect();
  process.stdout.write(JSON.stringify({ p50: pct(lat, 50), p99: pct(lat, 99), n: lat.length }) + '\n');
  process.exit(0);
}

async function latency(): Promise<{ p50: number; p99: number; n: number }> {
  const topic = `bench.latency.${randomBytes(3).toString('hex')}`;
  await createTopic(topic);
  const total = RATE * SECONDS;
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), '--consumer', topic, String(total)], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, AGENTRAIL_KAFKA_BROKERS: BROKERS.join(',') } });
  let out = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  while (!out.includes('ready')) await new Promise((r) => setTimeout(r, 100));
  await new Promise((r) => setTimeout(r, 2000)); // group join settles
  const dir = mkdtempSync(join(tmpdir(), 'agentrail-bench-lat-'));
  const log = new LocalLog(dir, { fsync: 1000 });
  const sealer = await Sealer.open({ sink: log, source: SOURCE, keys: new KeySet([key.key]), checkpointEvents: 1000 });
  const shipper = new KafkaShipper(log, kafkaSchema.parse({ enabled: true, brokers: BROKERS, topic, checkpointTopic: `${topic}.cp`, compression: 'gzip', batchSize: 500, lingerMs: 5 }));
  shipper.start();
  const tick = 10; // ms
  const perTick = Math.max(1, Math.round((RATE * tick) / 1000));
  const start = Date.now();
  let i = 0;
  let n = 0;
  while (n < total) {
    for (let k = 0; k < perTick && n < total; k++, i++) {
      const s = sealer.seal(event(i)); // time = now; the local log append happens at flush
      if (s.event.type === EventTypes.modelInvocation) n++;
    }
    await sealer.flush();
    const next = start + (i / perTick) * tick;
    await new Promise((r) => setTimeout(r, Math.max(0, next - Date.now())));
  }
  await shipper.waitShipped(log.end(), 60_000);
  await new Promise<void>((r) => child.once('exit', () => r()));
  await shipper.stop();
  await sealer.close();
  return JSON.parse(out.split('\n').filter((l) => l.startsWith('{')).at(-1)!) as { p50: number; p99: number; n: number };
}

if (process.argv[2] === '--consumer') {
  await consumerMain(process.argv[3]!, Number(process.argv[4]));
}

registerCodecs();
console.log(`broker ${BROKERS.join(',')}, ${N} events, node ${process.version}`);
const { log, sealer } = await sealedLog(N);
const lines = [...log.scan()].map((e) => e.line);
const bytes = lines.reduce((a, l) => a + l.length + 1, 0);
console.log(`sealed ${lines.length} events, ${(bytes / lines.length).toFixed(0)} B/event average`);
const shipped: Record<string, number> = {};
const shipCpuUs: Record<string, number> = {};
let before = 0;
for (const c of SHIP_CONFIGS) {
  const r = await shipperThroughput(log, c, lines.length);
  const name = `${c.label}, ${c.compression}`;
  before ||= r.perS;
  shipped[name] = Math.round(r.perS);
  shipCpuUs[name] = Math.round(r.cpuUsPerEvent * 10) / 10;
  console.log(`shipper kafkajs acks=all idempotent, ${name.padEnd(44)}: ${Math.round(r.perS).toString().padStart(6)} events/s (${(r.perS / before).toFixed(2)}x before), ${r.cpuUsPerEvent.toFixed(1)} µs CPU/event`);
}
await sealer.close();
if (process.env.KAFKA_BENCH_SHIP_ONLY) {
  console.log(JSON.stringify({ bench: 'kafka', node: process.version, events: lines.length, shipperEventsPerS: shipped, shipperCpuUsPerEvent: shipCpuUs }));
  process.exit(0);
}
const records = lines.map((l) => toKafkaRecord(l, 'binary').record);
const kj = await kafkajsRaw(records);
const pf = await platformaticRaw(records);
console.log(`client kafkajs            gzip acks=all: ${Math.round(kj)} events/s`);
console.log(`client @platformatic/kafka gzip acks=all: ${typeof pf === 'number' ? Math.round(pf) + ' events/s' : pf}`);
if (typeof pf === 'number') console.log(`ratio @platformatic/kafka / kafkajs: ${(pf / kj).toFixed(2)}`);
const l = await latency();
console.log(`latency at ${RATE} events/s for ${SECONDS} s (event time → seal → local log → Kafka → consumer process): p50 ${l.p50.toFixed(1)} ms, p99 ${l.p99.toFixed(1)} ms (${l.n} samples)`);
console.log(
  JSON.stringify({ bench: 'kafka', node: process.version, events: lines.length, shipperEventsPerS: shipped, shipperCpuUsPerEvent: shipCpuUs, clientEventsPerS: { kafkajs: Math.round(kj), platformatic: typeof pf === 'number' ? Math.round(pf) : null }, latencyMs: l }),
);
process.exit(0);
