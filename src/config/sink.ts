import { z } from 'zod';
import { FORMATS } from '../sink/formats/index.js';

/**
 * The `sink` section: the local write-ahead log (always on), an optional
 * stdout copy, and an optional Kafka shipper. See docs/delivery.md.
 */
const fsyncSchema = z.union([z.enum(['always', 'never']), z.number().int().positive()]);

export const localLogSchema = z
  .object({
    /** Directory holding segments/ and cursors/. */
    dir: z.string().min(1).default('/var/lib/agentrail/log'),
    /** 'always' (fdatasync every append), 'never', or an interval in ms. */
    fsync: fsyncSchema.default(1000),
    /** Roll to a new segment file after this many bytes. */
    segmentBytes: z.number().int().min(4096).default(64 * 1024 * 1024),
    /** Retention by size: shipped segments beyond this total are deleted. */
    retentionBytes: z.number().int().positive().default(10 * 1024 * 1024 * 1024),
    /** Retention by age: shipped segments older than this are deleted. 0 = keep. */
    retentionMs: z.number().int().min(0).default(7 * 24 * 3600 * 1000),
    /**
     * Hard disk bound. Above it the oldest segments go even if unshipped: the
     * loss is counted and a signed log.gap record says so. 0 = 2 × retentionBytes.
     */
    maxBytes: z.number().int().min(0).default(0),
  })
  .strict();

const saslSchema = z
  .object({
    mechanism: z.enum(['plain', 'scram-sha-256', 'scram-sha-512']),
    username: z.string().min(1),
    /** The password, or read it from passwordFile. */
    password: z.string().optional(),
    passwordFile: z.string().optional(),
  })
  .strict();

const tlsSchema = z
  .object({
    enabled: z.boolean().default(true),
    /** PEM files. */
    caFile: z.string().optional(),
    certFile: z.string().optional(),
    keyFile: z.string().optional(),
    rejectUnauthorized: z.boolean().default(true),
    servername: z.string().optional(),
  })
  .strict();

export const kafkaSchema = z
  .object({
    enabled: z.boolean().default(false),
    brokers: z.array(z.string().min(1)).default([]),
    clientId: z.string().default('agentrail'),
    topic: z.string().min(1).default('agentrail.events'),
    checkpointTopic: z.string().min(1).default('agentrail.checkpoints'),
    /** CloudEvents Kafka binding content mode. */
    mode: z.enum(['binary', 'structured']).default('binary'),
    compression: z.enum(['none', 'gzip', 'lz4', 'zstd']).default('gzip'),
    /** Events per produce request, and how long to wait for a batch to fill. */
    batchSize: z.number().int().min(1).max(100_000).default(500),
    /** Uncompressed bytes per produce request (stay under the broker's message.max.bytes, 1 MiB by default). */
    batchMaxBytes: z.number().int().min(1024).default(768 * 1024),
    lingerMs: z.number().int().min(0).default(20),
    /** Backoff between failed batches (doubles up to retryMaxMs). */
    retryInitialMs: z.number().int().min(1).default(200),
    retryMaxMs: z.number().int().min(1).default(10_000),
    connectionTimeoutMs: z.number().int().min(1).default(5_000),
    requestTimeoutMs: z.number().int().min(1).default(30_000),
    /**
     * How often the durable cursor file is rewritten (fsync + rename) while batches are acknowledged;
     * always when the log goes idle and at stop. After a crash at most this much acknowledged data is
     * sent again (consumers dedupe by id). 0 = after every batch.
     */
    cursorSyncMs: z.number().int().min(0).default(1000),
    /**
     * Ship from a worker thread of its own (a read-only view of the local log, the durable cursor as
     * the hand-off), so record encoding and compression never take the pipeline's event loop. It pays
     * only with a core to spare (measured, docs/delivery.md): `auto` ships on a thread when the cores
     * this process may use (affinity capped by the cgroup CPU limit) outnumber pipeline.workers, else on
     * the main thread (one isolate less).
     */
    thread: z.union([z.boolean(), z.literal('auto')]).default('auto'),
    /** Consumer name of the durable cursor in <dir>/cursors/. */
    cursor: z.string().regex(/^[a-z0-9][a-z0-9._-]*$/).default('kafka'),
    tls: tlsSchema.optional(),
    sasl: saslSchema.optional(),
    /**
     * More topics, each with its own format (issue 14): the same events mapped for a SIEM
     * (ocsf, ecs, splunk-hec) or CloudEvents again, keyed by event id, in the same acknowledged
     * produce request as `topic` (docs/siem.md).
     */
    topics: z.array(z.object({ name: z.string().min(1), format: z.enum(FORMATS) }).strict()).default([]),
  })
  .strict()
  .superRefine((k, ctx) => {
    const seen = new Set([k.topic, k.checkpointTopic]);
    for (const [i, t] of k.topics.entries()) {
      if (seen.has(t.name)) ctx.addIssue({ code: 'custom', path: ['topics', i, 'name'], message: `topic "${t.name}" appears twice (topic, checkpointTopic and topics[] must all differ)` });
      seen.add(t.name);
    }
  });

export const sinkSchema = z
  .object({
    local: localLogSchema.prefault({}),
    /** Also write every sealed event (one canonical line) to stdout. */
    stdout: z.boolean().default(false),
    kafka: kafkaSchema.prefault({}),
  })
  .strict();

export type SinkConfig = z.infer<typeof sinkSchema>;
export type LocalLogConfig = z.infer<typeof localLogSchema>;
export type KafkaSinkConfig = z.infer<typeof kafkaSchema>;
