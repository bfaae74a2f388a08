import type { CloudEvent } from '../../contracts/envelope.js';
import type { KafkaSinkConfig } from '../../config/sink.js';
import { kafkaSchema } from '../../config/sink.js';
import { AgentrailError } from '../../errors.js';
import { childLogger } from '../../observability/logger.js';
import { countDrop } from '../../observability/metrics.js';
import { fromKafkaRecord } from '../cloudevents-kafka.js';
import { describeKafkaError, makeKafka, registerCodecs } from '../kafka-client.js';
import type { OpenSearchBulkWriter } from './bulk-writer.js';

const log = childLogger('siem-index');

export interface KafkaIndexerOptions {
  kafka: Partial<KafkaSinkConfig>;
  brokers: string[];
  topic: string;
  /** Consumer group: its committed offsets are the indexer's durable position. */
  groupId: string;
  writer: OpenSearchBulkWriter;
  /** Stop once the high watermarks seen at start are indexed (a one-shot catch-up or replay). */
  once?: boolean;
  signal?: AbortSignal;
  /** Records per bulk request. */
  batchSize?: number;
}

export interface KafkaIndexerStats {
  records: number;
  notCloudEvents: number;
  committed: number;
}

/**
 * Topic → OpenSearch with at-least-once delivery: a batch's offsets are committed to the consumer
 * group only after OpenSearch acknowledged every document of it (bulk-writer.ts), so a crash or
 * restart re-reads at most the uncommitted batch, and the `_id` = event id makes the re-read
 * overwrite instead of duplicate.
 */
export async function runKafkaIndexer(o: KafkaIndexerOptions): Promise<KafkaIndexerStats> {
  registerCodecs();
  const cfg = kafkaSchema.parse({ ...o.kafka, brokers: o.brokers, enabled: true });
  const kafka = makeKafka(cfg, { retries: 5 });
  const stats: KafkaIndexerStats = { records: 0, notCloudEvents: 0, committed: 0 };
  const target = new Map<number, bigint>();
  const admin = kafka.admin();
  try {
    await admin.connect();
    if (!(await admin.listTopics()).includes(o.topic)) throw new AgentrailError('USAGE_KAFKA_TOPIC', `topic ${o.topic} does not exist at ${cfg.brokers.join(',')}`);
    if (o.once) {
      const committed = new Map<number, bigint>();
      for (const t of await admin.fetchOffsets({ groupId: o.groupId, topics: [o.topic] })) {
        for (const p of t.partitions) committed.set(p.partition, BigInt(p.offset));
      }
      for (const p of await admin.fetchTopicOffsets(o.topic)) {
        const done = committed.get(p.partition) ?? -1n;
        if (BigInt(p.high) > BigInt(p.low) && BigInt(p.high) > done) target.set(p.partition, BigInt(p.high));
      }
    }
  } catch (e) {
    throw describeKafkaError(e, cfg.brokers);
  } finally {
    await admin.disconnect().catch(() => {});
  }
  await o.writer.ensureTemplate();
  if (o.once && target.size === 0) return stats;

  const consumer = kafka.consumer({ groupId: o.groupId, sessionTimeout: 30_000, rebalanceTimeout: 30_000 });
  const batchSize = o.batchSize ?? 500;
  try {
    await consumer.connect();
    await consumer.subscribe({ topic: o.topic, fromBeginning: true });
    log.info({ topic: o.topic, groupId: o.groupId, index: o.writer.index }, 'indexer running');
    await new Promise<void>((resolve, reject) => {
      const finish = () => resolve();
      o.signal?.addEventListener('abort', finish, { once: true });
      // A failure kafkajs will not restart from (e.g. OpenSearch refusing the bulk request itself) ends the run with its error, uncommitted.
      consumer.on(consumer.events.CRASH, ({ payload }) => {
        if (!payload.restart) reject(payload.error);
      });
      consumer
        .run({
          autoCommit: false,
          eachBatchAutoResolve: false,
          eachBatch: async ({ batch, heartbeat, isRunning, isStale }) => {
            for (let i = 0; i < batch.messages.length && isRunning() && !isStale(); i += batchSize) {
              const chunk = batch.messages.slice(i, i + batchSize);
              const events: CloudEvent[] = [];
              for (const m of chunk) {
                stats.records++;
                const ev = fromKafkaRecord({ value: m.value, headers: m.headers as Record<string, unknown> });
                if (ev && typeof ev.id === 'string') events.push(ev);
                else {
                  stats.notCloudEvents++;
                  countDrop('siem-index', 'not_cloudevent');
                  log.warn({ code: 'SIEM_NOT_CLOUDEVENT', partition: batch.partition, offset: m.offset }, 'record is not a CloudEvent; not indexed');
                }
              }
              if (events.length > 0) await o.writer.write(events);
              if (o.signal?.aborted) return;
              const next = BigInt(chunk[chunk.length - 1]!.offset) + 1n;
              await consumer.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset: next.toString() }]);
              stats.committed += chunk.length;
              await heartbeat();
              const want = target.get(batch.partition);
              if (want !== undefined && next >= want) target.delete(batch.partition);
            }
            if (o.once && target.size === 0) finish();
          },
        })
        .catch(reject);
    });
  } catch (e) {
    if (e instanceof AgentrailError) throw e;
    throw describeKafkaError(e, cfg.brokers);
  } finally {
    await consumer.disconnect().catch(() => {});
  }
  log.info({ records: stats.records, indexed: o.writer.stats.indexed, rejected: o.writer.stats.rejected }, 'indexer stopped');
  return stats;
}
