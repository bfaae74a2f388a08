import { createSensor, type NativeSensor, type SensorOptions } from '../native/addon.js';
import type { RawSource, Selection } from './source.js';
import type { BinaryVerdict } from '../contracts/coverage.js';

export interface NativeSourceOptions extends Partial<Omit<SensorOptions, 'traceAll' | 'pids' | 'cgroups' | 'comms'>> {
  selection: Selection;
  /**
   * Batches buffered in JS before the source starts dropping (the consumer
   * is slower than the kernel). Dropped batches are counted, never silent.
   */
  maxBufferedBatches?: number;
}

/**
 * The eBPF source: starts the native Sensor and yields its batches (one
 * Buffer of many ABI records each) as an async iterable. The addon never
 * blocks the kernel side; if this iterator's consumer falls behind, batches
 * beyond maxBufferedBatches are dropped here and counted (`jsBatchesDropped`);
 * the addon itself drops (and counts) when its own in-flight bound is hit.
 */
export class NativeSource implements RawSource {
  readonly name = 'native';
  private readonly sensor: NativeSensor;
  private readonly queue: Buffer[] = [];
  private readonly max: number;
  private wake: (() => void) | undefined;
  private started = false;
  private ended: (() => void) | undefined;
  private stopping: Promise<void> | undefined;
  private stopped = false;
  private readonly ctr = { jsBatches: 0, jsRecords: 0, jsBatchesDropped: 0, jsRecordsDropped: 0, queuedHighWater: 0 };

  constructor(opts: NativeSourceOptions) {
    const { selection, maxBufferedBatches, ...rest } = opts;
    this.max = maxBufferedBatches ?? 1024;
    this.sensor = createSensor({
      ...rest,
      traceAll: selection.all,
      pids: selection.pids,
      cgroups: selection.cgroupIds,
      comms: selection.comms,
    });
  }

  /** Loads and attaches the BPF programs; throws AgentrailError (PERM_BPF, UNAVAILABLE_BTF, …). */
  start(): void {
    if (this.started) return;
    this.sensor.start((buf, n) => this.onBatch(buf, n));
    this.started = true;
  }

  private onBatch(buf: Buffer | null, n: number): void {
    if (buf === null) {
      // end of stream: every batch drained at stop() came before this
      this.stopped = true;
      this.ended?.();
      this.ended = undefined;
      const w = this.wake;
      this.wake = undefined;
      w?.();
      return;
    }
    if (this.queue.length >= this.max) {
      this.ctr.jsBatchesDropped++;
      this.ctr.jsRecordsDropped += n;
      return;
    }
    this.ctr.jsBatches++;
    this.ctr.jsRecords += n;
    this.queue.push(buf);
    if (this.queue.length > this.ctr.queuedHighWater) this.ctr.queuedHighWater = this.queue.length;
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  async *batches(): AsyncGenerator<Buffer> {
    if (!this.stopped) this.start();
    for (;;) {
      const b = this.queue.shift();
      if (b) {
        yield b;
        continue;
      }
      if (this.stopped) return;
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }

  addPid(pid: number): void {
    this.sensor.addPid(pid);
  }
  removePid(pid: number): void {
    this.sensor.removePid(pid);
  }
  addCgroup(id: bigint): void {
    this.sensor.addCgroup(id);
  }
  removeCgroup(id: bigint): void {
    this.sensor.removeCgroup(id);
  }

  /** Kernel enforcement lists (src/policy/kernel-enforcer.ts); the sensor must be started. */
  replaceEnforceMap(name: string, entries: Array<[Buffer, Buffer]>): void {
    this.sensor.replaceEnforceMap(name, entries);
  }

  stop(): Promise<void> {
    if (this.stopping) return this.stopping;
    if (this.stopped || !this.started) {
      this.stopped = true;
      return Promise.resolve();
    }
    // The addon drains the ring buffer, queues the last batches, then an
    // end-of-stream marker (null); resolve once that marker arrived.
    this.stopping = new Promise<void>((r) => (this.ended = r));
    this.sensor.stop();
    return this.stopping;
  }

  coverage(): BinaryVerdict[] {
    return this.sensor.coverage();
  }

  counters(): Record<string, number> {
    const c = this.sensor.counters();
    const out: Record<string, number> = {
      records: c.records,
      batchesDelivered: c.batchesDelivered,
      batchesDropped: c.batchesDropped,
      recordsDropped: c.recordsDropped,
      bytesDelivered: c.bytesDelivered,
      ringFillPeak: c.ringFillPeak,
      ringWrapped: c.ringWrapped,
      heapTrims: c.heapTrims,
      periodicFlushes: c.periodicFlushes,
      pollErrors: c.pollErrors,
      pollFatalErrno: c.pollFatalErrno,
      ...this.ctr,
    };
    for (const [family, reasons] of Object.entries(c.drops))
      for (const [reason, v] of Object.entries(reasons)) out[`drops.${family}.${reason}`] = v;
    for (const [k, v] of Object.entries(c.observers)) out[`observer.${k}`] = v;
    return out;
  }
}
