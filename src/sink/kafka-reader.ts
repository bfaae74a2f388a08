import { randomBytes } from 'node:crypto';
import canonicalizeModule from 'canonicalize';
import type { CloudEvent } from '../contracts/envelope.js';
import { AgentrailError } from '../errors.js';
import type { KafkaSinkConfig } from '../config/sink.js';
import { kafkaSchema } from '../config/sink.js';
import { fromKafkaRecord } from './cloudevents-kafka.js';
import { describeKafkaError, makeKafka, registerCodecs } from './kafka-client.js';

const canonicalize = canonicalizeModule as unknown as (o: unknown) => string;

/** `kafka://host:port[,host:port]/topic` → brokers and topic. */
export function parseKafkaUrl(url: string): { brokers: string[]; topic: string } {
  const m = /^kafka:\/\/([^/]+)\/([^/?#]+)$/.exec(url);
  if (!m) throw new AgentrailError('USAGE_KAFKA_URL', `"${url}" is not kafka://host:port/topic`);
  return { brokers: m[1]!.split(','), topic: decodeURIComponent(m[2]!) };
}

export function isKafkaUrl(s: string): boolean {
  return s.startsWith('kafka://');
}

export interface ReadStats {
  records: number;
  duplicates: number;
  notCloudEvents: number;
  partitions: number;
}

export interface ReadTopicOptions {
  /** Full sink.kafka section (TLS/SASL) or just brokers. */
  kafka?: Partial<KafkaSinkConfig>;
  brokers?: string[];
  topic: string;
  /** Give up waiting for the consumer group after this long. */
  timeoutMs?: number;
  stats?: ReadStats;
}

function cfgFor(o: ReadTopicOptions): KafkaSinkConfig {
  return kafkaSchema.parse({ ...(o.kafka ?? {}), ...(o.brokers ? { brokers: o.brokers } : {}), enabled: true });
}

function seqOf(e: CloudEvent): bigint {
  try {
    return BigInt(e.sequence ?? '0');
  } catch {
    return 0n;
  }
}

/**
 * Consume every partition of a topic from the beginning up to the high
 * watermarks taken at start, rebuild each CloudEvent (binary or structured
 * mode), dedupe by id and yield in chain order (source, then sequence).
 */
export async function* readTopic(o: ReadTopicOptions): AsyncGenerator<CloudEvent> {
  registerCodecs();
  const cfg = cfgFor(o);
  const kafka = makeKafka(cfg, { retries: 1 });
  const stats = o.stats ?? { records: 0, duplicates: 0, notCloudEvents: 0, partitions: 0 };
  const admin = kafka.admin();
  let offsets: Array<{ partition: number; high: string; low: string }>;
  try {
    await admin.connect();
    const topics = await admin.listTopics();
    if (!topics.includes(o.topic)) throw new AgentrailError('USAGE_KAFKA_TOPIC', `topic ${o.topic} does not exist at ${cfg.brokers.join(',')}`);
    offsets = await admin.fetchTopicOffsets(o.topic);
  } catch (e) {
    throw describeKafkaError(e, cfg.brokers);
  } finally {
    await admin.disconnect().catch(() => {});
  }
  stats.partitions = offsets.length;
  const want = new Map<number, bigint>();
  for (const p of offsets) if (BigInt(p.high) > BigInt(p.low)) want.set(p.partition, BigInt(p.high));
  const byId = new Map<string, CloudEvent>();
  if (want.size > 0) {
    const consumer = kafka.consumer({ groupId: `agentrail-reader-${randomBytes(6).toString('hex')}`, sessionTimeout: 10_000, rebalanceTimeout: 10_000 });
    try {
      await consumer.connect();
      await consumer.subscribe({ topic: o.topic, fromBeginning: true });
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new AgentrailError('UNAVAILABLE_KAFKA', `timed out reading ${o.topic}`)), o.timeoutMs ?? 120_000);
        const check = () => {
          if (want.size === 0) {
            clearTimeout(timer);
            resolve();
          }
        };
        consumer
          .run({
            autoCommit: false,
            eachBatch: async ({ batch }) => {
              for (const m of batch.messages) {
                const off = BigInt(m.offset);
                const hi = want.get(batch.partition);
                if (hi === undefined || off >= hi) continue;
                stats.records++;
                const ev = fromKafkaRecord({ value: m.value, headers: m.headers as Record<string, unknown> });
                if (!ev || typeof ev.id !== 'string') stats.notCloudEvents++;
                else if (byId.has(ev.id)) stats.duplicates++;
                else byId.set(ev.id, ev);
                if (off + 1n >= hi) want.delete(batch.partition);
              }
              check();
            },
          })
          .catch(reject);
        check();
      });
    } catch (e) {
      throw describeKafkaError(e, cfg.brokers);
    } finally {
      await consumer.disconnect().catch(() => {});
    }
  }
  const all = [...byId.values()].sort((a, b) => (a.source < b.source ? -1 : a.source > b.source ? 1 : seqOf(a) < seqOf(b) ? -1 : seqOf(a) > seqOf(b) ? 1 : 0));
  for (const e of all) yield e;
}

/** Same as readTopic, as canonical lines (RFC 8785) — what `verify` and `export` consume. */
export async function* readTopicLines(o: ReadTopicOptions): AsyncGenerator<string> {
  for await (const e of readTopic(o)) yield canonicalize(e);
}

/**
 * Follow a topic (tail -f): yields events as they arrive (deduped by id,
 * arrival order per partition) until `signal` aborts.
 */
export async function* followTopic(o: ReadTopicOptions & { signal?: AbortSignal; fromBeginning?: boolean }): AsyncGenerator<CloudEvent> {
  registerCodecs();
  const cfg = cfgFor(o);
  const kafka = makeKafka(cfg, { retries: 5 });
  const consumer = kafka.consumer({ groupId: `agentrail-tail-${randomBytes(6).toString('hex')}` });
  const queue: CloudEvent[] = [];
  let wake: (() => void) | undefined;
  let failure: unknown;
  const seen = new Set<string>();
  try {
    await consumer.connect();
    await consumer.subscribe({ topic: o.topic, fromBeginning: o.fromBeginning ?? true });
    consumer
      .run({
        autoCommit: false,
        eachMessage: async ({ message }) => {
          const ev = fromKafkaRecord({ value: message.value, headers: message.headers as Record<string, unknown> });
          if (!ev || seen.has(ev.id)) return;
          seen.add(ev.id);
          if (seen.size > 1_000_000) seen.clear();
          queue.push(ev);
          wake?.();
        },
      })
      .catch((e) => {
        failure = e;
        wake?.();
      });
    const onAbort = () => wake?.();
    o.signal?.addEventListener('abort', onAbort);
    while (!o.signal?.aborted) {
      if (failure) throw describeKafkaError(failure, cfg.brokers);
      const ev = queue.shift();
      if (ev) {
        yield ev;
        continue;
      }
      await new Promise<void>((r) => {
        wake = r;
        setTimeout(r, 500);
      });
      wake = undefined;
    }
  } catch (e) {
    throw describeKafkaError(e, cfg.brokers);
  } finally {
    await consumer.disconnect().catch(() => {});
  }
}

/**
 * For the verifier (`agentrail verify kafka://host:port/topic`): the topic as
 * the same `{ bytes, terminated }` lines src/verify/node-reader.ts yields for files.
 */
export async function* kafkaReadLines(url: string, kafka: Partial<KafkaSinkConfig> = {}, stats?: ReadStats): AsyncGenerator<{ bytes: Uint8Array; terminated: boolean }> {
  const { brokers, topic } = parseKafkaUrl(url);
  const o: ReadTopicOptions = { kafka, brokers, topic };
  if (stats) o.stats = stats;
  for await (const line of readTopicLines(o)) yield { bytes: Buffer.from(line, 'utf8'), terminated: true };
}
