/**
 * Main-thread handle of the shipper thread (kafka-ship-worker.ts): the same surface as KafkaShipper
 * (start, position, waitShipped, stop, stats) for the sink. A crashed thread is a counted stage error
 * and one error line, and a new thread resumes from the durable cursor: events acknowledged since the
 * last cursor write are sent again (consumers dedupe by event id), none are skipped.
 */
import { Worker } from 'node:worker_threads';
import { AggregatorRegistry } from 'prom-client';
import type { KafkaSinkConfig } from '../config/sink.js';
import { AgentrailError } from '../errors.js';
import { validateKafkaConfig } from './kafka-client.js';
import { childLogger } from '../observability/logger.js';
import { countStageError, localLogUnshippedBytes } from '../observability/metrics.js';
import type { MetricsJson } from '../observability/thread-metrics.js';
import type { FromShipper, ShipperInit, ToShipper } from './kafka-ship-messages.js';
import type { ShipperStats } from './kafka-shipper.js';
import type { LocalLog } from './local-log.js';
import { comparePos } from './local-log.js';
import type { LogPosition } from './log-segments.js';

const log = childLogger('sink');

/** Wait before a crashed shipper thread is replaced (a thread that dies at once must not spin). */
const RESPAWN_MS = 1_000;

export class ShipperThread {
  readonly stats: ShipperStats = { shipped: 0, batches: 0, failures: 0, connected: false };
  private worker: Worker | undefined;
  private cursorPos: LogPosition;
  private metrics: MetricsJson = [];
  /** Counters and histograms of threads that crashed, folded into one (bounded however often they crash). */
  private retired: MetricsJson = [];
  private waiters: Array<{ pos: LogPosition; resolve: () => void }> = [];
  private stopping = false;
  private stopped: Promise<void> | undefined;
  private onStopped: (() => void) | undefined;
  private respawn: NodeJS.Timeout | undefined;
  private readonly metricsTimer: NodeJS.Timeout;
  /** Shipped counts of threads that crashed (stats.shipped stays a total over replacements). */
  private shippedBefore = 0;
  private batchesBefore = 0;
  private failuresBefore = 0;
  private readonly onAppend = () => this.worker?.postMessage({ t: 'append' } satisfies ToShipper);

  constructor(
    private readonly logStore: LocalLog,
    private readonly cfg: KafkaSinkConfig,
  ) {
    // Configuration errors stop the sensor here, in one line, as the in-thread shipper's constructor does.
    validateKafkaConfig(cfg);
    // Registered now, as the in-thread shipper does: retention must count this consumer from the start.
    this.cursorPos = logStore.ensureCursor(cfg.cursor);
    this.metricsTimer = setInterval(() => this.worker?.postMessage({ t: 'metrics' } satisfies ToShipper), 1_000);
    this.metricsTimer.unref();
  }

  /** Start the thread; rejects with its one-line start error (bad TLS files, bad SASL…). */
  start(opts: { probe?: boolean } = {}): Promise<void> {
    this.logStore.on('append', this.onAppend);
    return this.spawn(opts.probe ?? true).catch((e: unknown) => {
      this.worker = undefined;
      throw e;
    });
  }

  private spawn(probe = false): Promise<void> {
    const init: ShipperInit = { dir: this.logStore.dir, cfg: this.cfg, probe };
    const worker = new Worker(new URL('./kafka-ship-worker.js', import.meta.url), { workerData: init });
    this.worker = worker;
    return new Promise((resolve, reject) => {
      let ready = false;
      worker.on('message', (m: FromShipper) => {
        if (m.t === 'ready') {
          ready = true;
          resolve();
        } else if (m.t === 'failed') reject(new AgentrailError(m.code, m.message, m.hint ? { hint: m.hint } : {}));
        else if (m.t === 'progress') this.progress(m.pos, m.stats);
        else if (m.t === 'metrics') this.metrics = m.metrics;
        else if (m.t === 'stopped') {
          this.progress(m.pos, m.stats);
          this.metrics = m.metrics;
          this.onStopped?.();
        }
      });
      worker.on('error', (e: Error) => {
        if (!ready) return reject(e);
        this.crashed(worker, e.message);
      });
      worker.on('exit', (code) => {
        if (!ready) return reject(new AgentrailError('SINK_SHIPPER_START', `shipper thread exited (code ${code}) before it started`));
        if (this.worker === worker && !this.stopping) this.crashed(worker, `exited with code ${code}`);
        else this.onStopped?.();
      });
    });
  }

  private crashed(worker: Worker, why: string): void {
    if (this.worker !== worker) return;
    this.worker = undefined;
    const last = this.metrics.filter((m) => String(m.type) !== 'gauge');
    this.metrics = [];
    void AggregatorRegistry.aggregate([this.retired, last] as Parameters<typeof AggregatorRegistry.aggregate>[0])
      .getMetricsAsJSON()
      .then((j) => (this.retired = j as MetricsJson));
    countStageError('sink', 'shipper_thread_crashed');
    log.error({ err: why, cursor: this.cursorPos }, 'Kafka shipper thread crashed: a new one resumes from the durable cursor (unacknowledged and recently acknowledged events are sent again)');
    this.shippedBefore = this.stats.shipped;
    this.batchesBefore = this.stats.batches;
    this.failuresBefore = this.stats.failures;
    this.stats.connected = false;
    this.scheduleRespawn();
  }

  private scheduleRespawn(): void {
    this.respawn = setTimeout(() => {
      this.respawn = undefined;
      if (this.stopping) return;
      this.spawn().catch((e: Error) => {
        // It started before with the same configuration: keep trying, never stop shipping for good.
        countStageError('sink', 'shipper_thread_crashed');
        log.error({ err: e.message }, 'Kafka shipper thread failed to restart: retrying');
        this.worker = undefined;
        if (!this.stopping) this.scheduleRespawn();
      });
    }, RESPAWN_MS);
  }

  private progress(pos: LogPosition, s: ShipperStats): void {
    if (comparePos(pos, this.cursorPos) > 0) this.cursorPos = pos;
    this.stats.shipped = this.shippedBefore + s.shipped;
    this.stats.batches = this.batchesBefore + s.batches;
    this.stats.failures = this.failuresBefore + s.failures;
    this.stats.connected = s.connected;
    if (s.lastError !== undefined) this.stats.lastError = s.lastError;
    localLogUnshippedBytes.set(this.logStore.lagBytes());
    this.waiters = this.waiters.filter((w) => {
      if (comparePos(this.cursorPos, w.pos) < 0) return true;
      w.resolve();
      return false;
    });
  }

  /** Position acknowledged so far (as last reported by the thread). */
  position(): LogPosition {
    return this.cursorPos;
  }

  /** Resolve once everything up to `pos` (default: the log's current end) is acknowledged. */
  waitShipped(pos: LogPosition = this.logStore.end(), timeoutMs = 60_000): Promise<boolean> {
    if (comparePos(this.cursorPos, pos) >= 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const waiter = {
        pos,
        resolve: () => {
          clearTimeout(t);
          resolve(true);
        },
      };
      const t = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        resolve(false);
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  /** The thread's last metrics (merged into /metrics by the pipeline). */
  threadMetrics(): MetricsJson[] {
    return [this.retired, this.metrics];
  }

  /** Stop after the current batch (optionally waiting until everything is shipped). */
  async stop(opts: { drainMs?: number } = {}): Promise<void> {
    if (this.stopped) return this.stopped;
    this.stopping = true;
    clearInterval(this.metricsTimer);
    this.logStore.off('append', this.onAppend);
    const worker = this.worker;
    this.stopped = new Promise<void>((r) => (this.onStopped = r));
    if (this.respawn) {
      clearTimeout(this.respawn);
      this.respawn = undefined;
      this.onStopped!();
    } else if (worker) worker.postMessage({ t: 'stop', ...(opts.drainMs ? { drainMs: opts.drainMs } : {}) } satisfies ToShipper);
    else this.onStopped!();
    // A thread stuck in a produce request answers within its request timeout; past that it is ended,
    // and the next start resumes from the durable cursor (what it had acknowledged since is sent again).
    const bound = (opts.drainMs ?? 0) + this.cfg.requestTimeoutMs + 5_000;
    let timer: NodeJS.Timeout | undefined;
    const answered = await Promise.race([this.stopped.then(() => true), new Promise<boolean>((r) => (timer = setTimeout(() => r(false), bound)))]);
    clearTimeout(timer);
    if (!answered) log.warn({ waitedMs: bound, cursor: this.cursorPos }, 'Kafka shipper thread did not stop in time: ended; shipping resumes from the durable cursor at the next start');
    await worker?.terminate();
    this.worker = undefined;
    this.stats.connected = false;
  }
}
