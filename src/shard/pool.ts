import { Worker } from 'node:worker_threads';
import type { Registry } from 'prom-client';
import { AgentrailError } from '../errors.js';
import { childLogger } from '../observability/logger.js';
import { countStageError } from '../observability/metrics.js';
import { mergeWithThisThread } from '../observability/thread-metrics.js';
import type { WorkloadIdentity, WorkloadResolver } from '../correlate/workload-resolver.js';
import type { FromShard, MetricsJson, ShardEvent, ShardInit, ToShard } from './messages.js';
import { ShardRouter, procPpid } from './router.js';

const log = childLogger('shard');

/** Batches a worker may have queued before the source loop waits for it (the kernel ring buffers meanwhile). */
const MAX_INFLIGHT = 64;

interface Slot {
  worker: Worker;
  inflight: number;
  /** Started and not dead: what readiness reports. */
  running: boolean;
  /** When the worker last finished a batch (or started): a worker with batches queued and no progress is stalled. */
  progressAt: number;
  stalled: boolean;
  metrics: MetricsJson;
  closed: Promise<void>;
  onClosed: () => void;
}

export interface ShardPoolOptions {
  workers: number;
  init: Omit<ShardInit, 'shard'>;
  /** Events of one worker, in the order its stages produced them. */
  onEvents(events: ShardEvent[]): void;
  /** A worker died: its sessions' open state (streams, held events) is lost; a fresh worker takes its shard. */
  onCrash(shard: number, lostBatches: number, error: string): void;
  /**
   * The main thread's workload resolver (Kubernetes): each cgroup's identity is resolved here and
   * forwarded to the workers that see its records, before those records, and again when it changes.
   */
  identity?: WorkloadResolver;
  /** A worker with batches queued that finished none for this long is reported stalled (default 10 s). */
  stallMs?: number;
}

/** A cgroup whose identity was forwarded: to which shards, and what was sent last. */
interface Forwarded {
  pid: number;
  shards: Set<number>;
  sent: string;
  identity: WorkloadIdentity | null;
}

const MAX_FORWARDED = 4096;

/**
 * The main-thread side of the sharded pipeline (`pipeline.workers` ≥ 2, docs/performance.md): routes
 * record batches by session to N worker threads running decode → … → policy, receives their events
 * for sealing, applies backpressure, replaces a crashed worker, and merges the workers' metrics with
 * the main thread's for /metrics and the stop summary.
 */
export class ShardPool {
  readonly router: ShardRouter;
  private readonly slots: Slot[] = [];
  private waiters: (() => void)[] = [];
  private readonly forwarded = new Map<bigint, Forwarded>();
  private closing = false;

  constructor(private readonly o: ShardPoolOptions) {
    this.router = new ShardRouter(o.workers, {
      ...(o.init.readProc ? { readPpid: (pid: number) => procPpid(pid) } : {}),
      ...(o.identity ? { onCgroup: (shard: number, cgroupId: bigint, pid: number) => this.forward(shard, cgroupId, pid) } : {}),
    });
  }

  private forward(shard: number, cgroupId: bigint, pid: number): void {
    let f = this.forwarded.get(cgroupId);
    if (!f) {
      if (this.forwarded.size >= MAX_FORWARDED) this.forwarded.delete(this.forwarded.keys().next().value!);
      const identity = this.o.identity!.resolve(pid, cgroupId) ?? null;
      f = { pid, shards: new Set(), sent: JSON.stringify(identity), identity };
      this.forwarded.set(cgroupId, f);
    }
    f.shards.add(shard);
    this.slots[shard]!.worker.postMessage({ t: 'identity', cgroupId, identity: f.identity } satisfies ToShard);
  }

  /** Resolve the forwarded cgroups again (the pod list syncs late, owners are refined) and send what changed. */
  private refreshIdentities(): void {
    for (const [cgroupId, f] of this.forwarded) {
      const identity = this.o.identity!.resolve(f.pid, cgroupId) ?? null;
      const sent = JSON.stringify(identity);
      if (sent === f.sent) continue;
      f.sent = sent;
      f.identity = identity;
      for (const shard of f.shards) this.slots[shard]!.worker.postMessage({ t: 'identity', cgroupId, identity } satisfies ToShard);
    }
  }

  /** Start every worker; rejects with the first worker's start error (bad rules file, bad key…). */
  async start(): Promise<void> {
    await Promise.all(Array.from({ length: this.o.workers }, (_, i) => this.spawn(i)));
  }

  private spawn(shard: number): Promise<void> {
    const worker = new Worker(new URL('./worker.js', import.meta.url), { workerData: { ...this.o.init, shard } satisfies ShardInit });
    let onClosed!: () => void;
    const slot: Slot = { worker, inflight: 0, running: false, progressAt: Date.now(), stalled: false, metrics: this.slots[shard]?.metrics ?? [], closed: new Promise((r) => (onClosed = r)), onClosed };
    this.slots[shard] = slot;
    // A replacement worker learns the identities its predecessor had.
    for (const [cgroupId, f] of this.forwarded) if (f.shards.has(shard)) worker.postMessage({ t: 'identity', cgroupId, identity: f.identity } satisfies ToShard);
    return new Promise((resolve, reject) => {
      let ready = false;
      worker.on('message', (m: FromShard) => {
        if (m.t === 'ready') {
          ready = true;
          slot.running = true;
          resolve();
        } else if (m.t === 'failed') reject(new AgentrailError(m.code, `shard worker ${shard}: ${m.message}`));
        else if (m.t === 'events') {
          slot.inflight -= m.done;
          if (m.events.length) this.o.onEvents(m.events);
          if (m.done) {
            slot.progressAt = Date.now();
            this.wake();
          }
        } else if (m.t === 'metrics') slot.metrics = m.metrics;
        else if (m.t === 'closed') {
          slot.metrics = m.metrics;
          slot.onClosed();
        }
      });
      worker.on('error', (e: Error) => {
        if (!ready) return reject(e);
        // A crash is a counted, sealed loss, never a silent one; the shard lives on in a new worker.
        countStageError('shard', 'worker_crashed');
        log.error({ shard, err: e.message, lostBatches: slot.inflight }, 'shard worker crashed: its sessions restart in a new worker');
        this.o.onCrash(shard, slot.inflight, e.message);
        slot.onClosed();
        if (!this.closing) void this.spawn(shard).then(() => this.wake(), (err: Error) => log.error({ shard, err: err.message }, 'shard worker could not be restarted'));
      });
      worker.on('exit', () => {
        slot.running = false;
        slot.onClosed();
      });
    });
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** Route one batch of record bytes; resolves at once unless a worker is MAX_INFLIGHT batches behind. */
  async push(batch: Buffer): Promise<void> {
    const parts = this.router.split(batch);
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i];
      if (!p) continue;
      const slot = this.slots[i]!;
      if (slot.inflight++ === 0) slot.progressAt = Date.now(); // a stall counts from the oldest queued batch
      slot.worker.postMessage({ t: 'batch', bytes: p } satisfies ToShard, [p.buffer as ArrayBuffer]);
    }
    while (this.slots.some((s) => s.inflight > MAX_INFLIGHT)) await new Promise<void>((r) => this.waiters.push(r));
  }

  /** For readiness: true when every shard has a running worker making progress, else which do not. */
  running(): true | string {
    const down = this.slots.flatMap((s, i) => (s.running ? [] : [i]));
    const stalled = this.slots.flatMap((s, i) => (s.running && this.isStalled(s) ? [i] : []));
    if (down.length === 0 && stalled.length === 0) return true;
    return [down.length ? `shard worker(s) ${down.join(', ')} not running` : '', stalled.length ? `shard worker(s) ${stalled.join(', ')} stalled` : ''].filter(Boolean).join('; ');
  }

  private isStalled(s: Slot): boolean {
    return s.inflight > 0 && Date.now() - s.progressAt > (this.o.stallMs ?? 10_000);
  }

  /** A stall is said once per episode, counted; the source loop meanwhile waits and the kernel ring counts what it drops. */
  private checkStalls(): void {
    this.slots.forEach((s, shard) => {
      const now = this.isStalled(s);
      if (now && !s.stalled) {
        countStageError('shard', 'worker_stalled');
        log.error({ shard, queuedBatches: s.inflight, sinceMs: Date.now() - s.progressAt }, 'shard worker stalled: batches queued and none finished');
      }
      s.stalled = now;
    });
  }

  /** Once a second: ask for fresh worker metrics (answered asynchronously; /metrics serves the latest), re-resolve identities. */
  tick(): void {
    this.checkStalls();
    for (const s of this.slots) s.worker.postMessage({ t: 'metrics' } satisfies ToShard);
    if (this.o.identity) this.refreshIdentities();
  }

  /** Drain: each worker flushes its stages and sends its last events, then exits. */
  async close(): Promise<void> {
    this.closing = true;
    for (const s of this.slots) s.worker.postMessage({ t: 'close' } satisfies ToShard);
    await Promise.all(this.slots.map((s) => s.closed));
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }

  /** Every worker's last metrics (merged with the main thread's by observability/thread-metrics.ts). */
  workerMetrics(): MetricsJson[] {
    return this.slots.map((s) => s.metrics);
  }

  /** The main thread's registry merged with every worker's last metrics. */
  mergedMetrics(): Promise<Registry> {
    return mergeWithThisThread(this.workerMetrics());
  }
}
