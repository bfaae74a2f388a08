import type { Producer, TopicMessages } from 'kafkajs';
import { EventTypes } from '../contracts/envelope.js';
import { childLogger } from '../observability/logger.js';
import { Counter, registry, countDrop, countStageError, kafkaPublishLatency, localLogUnshippedBytes } from '../observability/metrics.js';
import type { KafkaSinkConfig } from '../config/sink.js';
import { toKafkaRecord } from './cloudevents-kafka.js';
import { extraTopicMessages } from './kafka-topics.js';
import type { CloudEvent } from '../contracts/envelope.js';
import { compressionType, describeKafkaError, makeKafka } from './kafka-client.js';
import type { LocalLog, LogEntry, LogPosition } from './local-log.js';
import { comparePos } from './local-log.js';

const shippedTotal = new Counter({ name: 'agentrail_kafka_shipped_total', help: 'Events acknowledged by Kafka (acks=all)', registers: [registry] });
const shipErrors = new Counter({ name: 'agentrail_kafka_errors_total', help: 'Failed produce attempts (retried)', registers: [registry] });

const log = childLogger('sink');

export interface ShipperStats {
  shipped: number;
  batches: number;
  failures: number;
  connected: boolean;
  lastError?: string;
}

/**
 * Tails the local log from a durable cursor and publishes with an idempotent
 * producer (acks=all). The cursor moves only after the broker acknowledged a
 * batch, so a crash or outage re-sends at most the unacknowledged batch
 * (consumers dedupe by event id). Never drops: failures back off and retry forever.
 */
export class KafkaShipper {
  private producer: Producer | undefined;
  private connected = false;
  private stopping = false;
  private loop: Promise<void> | undefined;
  private abort = new AbortController();
  readonly stats: ShipperStats = { shipped: 0, batches: 0, failures: 0, connected: false };
  private readonly compression;
  private waiters: Array<{ pos: LogPosition; resolve: () => void }> = [];
  private cursorPos: LogPosition;
  /** Acknowledged but not yet in the durable cursor file (written at most every cursorSyncMs). */
  private unsynced: { pos: LogPosition; seq: string | undefined } | undefined;
  private cursorSyncedAt = 0;

  constructor(
    private readonly logStore: LocalLog,
    private readonly cfg: KafkaSinkConfig,
    /** Called after each acknowledged batch (the shipper thread reports its position with it). */
    private readonly onProgress?: (pos: LogPosition, stats: ShipperStats) => void,
  ) {
    this.compression = compressionType(cfg.compression);
    // Validates brokers and TLS/SASL files now: configuration errors surface at startup, in one line.
    this.kafka = makeKafka(cfg, { retries: 2 });
    this.cursorPos = logStore.ensureCursor(cfg.cursor);
  }

  private readonly kafka: ReturnType<typeof makeKafka>;

  /** Start the shipping loop (returns at once; failures are retried in the background). */
  start(): void {
    if (this.loop) return;
    this.producer = this.kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      retry: { retries: 3, initialRetryTime: this.cfg.retryInitialMs, maxRetryTime: this.cfg.retryMaxMs },
    });
    this.producer.on(this.producer.events.DISCONNECT, () => {
      this.connected = false;
      this.stats.connected = false;
    });
    this.loop = this.run();
  }

  /** Position acknowledged so far. */
  position(): LogPosition {
    return this.cursorPos;
  }

  /** Resolve once everything up to `pos` (default: the log's current end) is acknowledged. */
  waitShipped(pos: LogPosition = this.logStore.end(), timeoutMs = 60_000): Promise<boolean> {
    if (comparePos(this.cursorPos, pos) >= 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        resolve(false);
      }, timeoutMs);
      const waiter = {
        pos,
        resolve: () => {
          clearTimeout(t);
          resolve(true);
        },
      };
      this.waiters.push(waiter);
    });
  }

  private async ensureConnected(): Promise<void> {
    if (this.connected) return;
    await this.producer!.connect();
    this.connected = true;
    this.stats.connected = true;
    log.info({ brokers: this.cfg.brokers }, 'kafka shipper connected');
  }

  private async run(): Promise<void> {
    let backoff = this.cfg.retryInitialMs;
    let pending: LogEntry[] = [];
    while (!this.stopping) {
      if (pending.length === 0) {
        pending = this.logStore.read(this.cursorPos, this.cfg.batchSize, this.cfg.batchMaxBytes);
        if (pending.length === 0) {
          this.syncCursor();
          await this.logStore.waitForAppend(200, this.abort.signal);
          continue;
        }
        // Linger: give a small batch a moment to fill.
        if (pending.length < this.cfg.batchSize && this.cfg.lingerMs > 0) {
          await new Promise((r) => setTimeout(r, this.cfg.lingerMs));
          const used = pending.reduce((a, e) => a + e.line.length, 0);
          if (used < this.cfg.batchMaxBytes) {
            const more = this.logStore.read(pending.at(-1)!.next, this.cfg.batchSize - pending.length, this.cfg.batchMaxBytes - used);
            pending.push(...more);
          }
        }
      }
      try {
        await this.ensureConnected();
        const seq = await this.sendBatch(pending);
        const last = pending.at(-1)!;
        this.cursorPos = last.next;
        this.unsynced = { pos: last.next, seq };
        if (Date.now() - this.cursorSyncedAt >= this.cfg.cursorSyncMs) this.syncCursor();
        this.stats.shipped += pending.length;
        this.stats.batches++;
        shippedTotal.inc(pending.length);
        // A read-only view (kafka ship, the shipper thread) knows no segment sizes: the writer sets it.
        if (!this.logStore.isReadOnly()) localLogUnshippedBytes.set(this.logStore.lagBytes());
        pending = [];
        backoff = this.cfg.retryInitialMs;
        this.waiters = this.waiters.filter((w) => {
          if (comparePos(this.cursorPos, w.pos) >= 0) {
            w.resolve();
            return false;
          }
          return true;
        });
        this.onProgress?.(this.cursorPos, this.stats);
      } catch (e) {
        if (this.stopping) break;
        const type = (e as { type?: string }).type ?? '';
        if ((type === 'MESSAGE_TOO_LARGE' || type === 'RECORD_LIST_TOO_LARGE') && pending.length > 1) {
          // Retry the same events in smaller requests.
          pending = pending.slice(0, Math.max(1, Math.floor(pending.length / 2)));
          continue;
        }
        if ((type === 'MESSAGE_TOO_LARGE' || type === 'RECORD_LIST_TOO_LARGE') && pending.length === 1) {
          // One event larger than the broker accepts: it stays in the local log (verify it there);
          // skip it on Kafka, counted and logged, rather than stalling shipping forever.
          countDrop('sink', 'kafka_message_too_large');
          log.error({ code: type, at: pending[0]!.at }, 'event larger than the broker accepts: kept in the local log, not shipped');
          this.cursorPos = pending[0]!.next;
          this.unsynced = { pos: this.cursorPos, seq: undefined };
          this.syncCursor();
          this.onProgress?.(this.cursorPos, this.stats);
          pending = [];
          continue;
        }
        const err = describeKafkaError(e, this.cfg.brokers);
        this.stats.failures++;
        this.stats.lastError = err.oneLine();
        shipErrors.inc();
        this.onProgress?.(this.cursorPos, this.stats);
        log.warn({ code: err.code, err: err.message, backoffMs: backoff }, 'kafka produce failed; will retry');
        if (!err.retriable && err.code === 'UNAVAILABLE_KAFKA_AUTH') {
          // Wrong credentials do not fix themselves quickly; keep retrying slowly, never drop.
          backoff = this.cfg.retryMaxMs;
        }
        if (this.connected) {
          this.connected = false;
          await this.producer!.disconnect().catch(() => {});
        }
        await new Promise<void>((r) => {
          // One listener per wait, removed when the wait ends: a broker down for days must not grow them.
          const onAbort = () => {
            clearTimeout(t);
            r();
          };
          const t = setTimeout(() => {
            this.abort.signal.removeEventListener('abort', onAbort);
            r();
          }, backoff);
          this.abort.signal.addEventListener('abort', onAbort, { once: true });
        });
        backoff = Math.min(backoff * 2, this.cfg.retryMaxMs);
      }
    }
  }

  /**
   * Durable cursor: an atomic file rewrite with two fsyncs, on the event loop the pipeline shares.
   * Per batch it cost more than the batch; the position in memory moves on every acknowledgement.
   */
  private syncCursor(): void {
    if (!this.unsynced) return;
    this.logStore.writeCursor(this.cfg.cursor, this.unsynced.pos, this.unsynced.seq);
    this.unsynced = undefined;
    this.cursorSyncedAt = Date.now();
  }

  /** Publish one batch; returns the chain sequence of its last event (for the cursor). */
  private async sendBatch(entries: LogEntry[]): Promise<string | undefined> {
    const events: TopicMessages = { topic: this.cfg.topic, messages: [] };
    const checkpoints: TopicMessages = { topic: this.cfg.checkpointTopic, messages: [] };
    const sealed: Array<{ line: string; event: CloudEvent }> = [];
    let lastSeq: string | undefined;
    for (const e of entries) {
      let enc;
      try {
        enc = toKafkaRecord(e.line, this.cfg.mode);
      } catch {
        // A line that is not JSON cannot be a sealed event: count it, never ship garbage silently.
        countStageError('sink', 'unparseable_log_line');
        lastSeq = undefined;
        continue;
      }
      lastSeq = typeof enc.event.sequence === 'string' ? enc.event.sequence : undefined;
      const msg = { key: enc.record.key, value: enc.record.value, headers: enc.record.headers, ...(enc.record.timestamp ? { timestamp: enc.record.timestamp } : {}) };
      events.messages.push(msg);
      if (enc.event.type === EventTypes.logCheckpoint) checkpoints.messages.push(msg);
      if (this.cfg.topics.length) sealed.push({ line: e.line, event: enc.event });
    }
    const topicMessages = [events];
    if (checkpoints.messages.length) topicMessages.push(checkpoints);
    // sink.kafka.topics: the same events in other formats, in this same acknowledged request.
    topicMessages.push(...extraTopicMessages(this.cfg, sealed));
    if (events.messages.length === 0) return lastSeq;
    const endTimer = kafkaPublishLatency.startTimer();
    await this.producer!.sendBatch({ topicMessages, acks: -1, compression: this.compression, timeout: this.cfg.requestTimeoutMs });
    endTimer();
    return lastSeq;
  }

  /** Stop after the current batch (optionally waiting until everything is shipped). */
  async stop(opts: { drainMs?: number } = {}): Promise<void> {
    if (opts.drainMs && this.loop) await this.waitShipped(this.logStore.end(), opts.drainMs);
    this.stopping = true;
    this.abort.abort();
    await this.loop?.catch(() => {});
    this.syncCursor();
    await this.producer?.disconnect().catch(() => {});
    this.connected = false;
    this.stats.connected = false;
  }
}

/** Check connectivity once (for `kafka init`, startup validation): one-line error on failure. */
export async function probeKafka(cfg: KafkaSinkConfig): Promise<void> {
  const admin = makeKafka(cfg, { retries: 0 }).admin();
  try {
    await admin.connect();
    await admin.describeCluster();
  } catch (e) {
    throw describeKafkaError(e, cfg.brokers);
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

/**
 * Check the broker once before shipping. Wrong credentials or TLS are configuration errors: one
 * line, and the sensor does not start. An unreachable broker is not: the local log holds everything
 * and shipping catches up when it appears.
 */
export async function probeAtStart(cfg: KafkaSinkConfig): Promise<void> {
  try {
    await probeKafka(cfg);
  } catch (e) {
    const code = (e as { code?: string }).code ?? '';
    if (code !== 'UNAVAILABLE_KAFKA') throw e;
    log.warn({ code, brokers: cfg.brokers }, 'Kafka not reachable at start; events stay in the local log until it is');
  }
}
