import { usableCores } from '../config/usable-cores.js';
import type { KafkaSinkConfig, SinkConfig } from '../config/sink.js';
import type { SealedLogSink } from '../seal/log-interface.js';
import { childLogger } from '../observability/logger.js';
import { LocalLog, type GapInfo } from './local-log.js';
import { KafkaShipper, probeAtStart } from './kafka-shipper.js';
import { ShipperThread } from './kafka-ship-thread.js';
import type { MetricsJson } from '../observability/thread-metrics.js';
import { StdoutSink, TeeSink } from './stdout.js';

export { LocalLog } from './local-log.js';
export type { GapInfo, LogPosition, Cursor, LocalLogOptions } from './local-log.js';
export { KafkaShipper, probeKafka, probeAtStart } from './kafka-shipper.js';
export { ShipperThread } from './kafka-ship-thread.js';
export { StdoutSink, TeeSink } from './stdout.js';
export { readTopic, readTopicLines, kafkaReadLines, followTopic, parseKafkaUrl, isKafkaUrl } from './kafka-reader.js';

const log = childLogger('sink');

/**
 * Everything the pipeline needs from the delivery side, from the `sink` config section:
 *
 *   const sink = openSink(config.sink);
 *   const sealer = await Sealer.open({ sink: sink.sealedSink, ... });
 *   sink.onGap((g) => sealer.recordGap({ reason: 'disk-bound', lostEvents: g.lostEvents,
 *     fromSequence: Number(g.fromSequence), toSequence: Number(g.toSequence), detail: 'unshipped-deleted' }));
 *   await sink.start();                  // starts the Kafka shipper when sink.kafka.enabled
 *   if (sink.shouldShed()) countDrop('source', 'disk_bound_shed')   // per raw batch, at the source
 *   ...
 *   await sealer.close(); await sink.close();
 */
export interface OpenSink {
  log: LocalLog;
  /** What the Sealer writes through: the local log first (write-ahead), then the stdout copy. */
  sealedSink: SealedLogSink;
  /** The Kafka shipper: on its own thread (sink.kafka.thread, the default) or on this one. */
  shipper: KafkaShipper | ShipperThread | undefined;
  /** Metrics of the shipper thread, to merge with this thread's (empty when there is none). */
  threadMetrics(): MetricsJson[];
  onGap(fn: (g: GapInfo) => void): void;
  /** True while the disk bound is under pressure: shed raw events at the source, counted. Never blocks. */
  shouldShed(): boolean;
  /** Check the broker once (one-line error if unreachable/misconfigured), then start shipping. */
  start(opts?: { probe?: boolean }): Promise<void>;
  /** Stop shipping (waiting up to drainMs for the tail) and close the log. */
  close(opts?: { drainMs?: number }): Promise<void>;
}

/**
 * Whether the Kafka shipper gets its own thread: `sink.kafka.thread`, where `auto` means a core to
 * spare beyond the pipeline's threads, cgroup CPU limits counted (without one the thread only adds
 * an isolate: measured in docs/delivery.md §6).
 */
export function shipsOnThread(k: KafkaSinkConfig, pipelineWorkers = 1): boolean {
  return k.thread === 'auto' ? usableCores() > pipelineWorkers : k.thread;
}

/** `pipelineWorkers`: pipeline.workers (the threads the pipeline itself keeps busy). */
export function openSink(cfg: SinkConfig, copyTo?: NodeJS.WritableStream, pipelineWorkers = 1): OpenSink {
  const l = cfg.local;
  const localLog = new LocalLog(l.dir, { fsync: l.fsync, segmentBytes: l.segmentBytes, retentionBytes: l.retentionBytes, retentionMs: l.retentionMs, maxBytes: l.maxBytes });
  const copies = [...(cfg.stdout ? [new StdoutSink()] : []), ...(copyTo ? [new StdoutSink(copyTo as unknown as import('node:stream').Writable)] : [])];
  const sealedSink: SealedLogSink = copies.length ? new TeeSink(localLog, copies) : localLog;
  const shipper = !cfg.kafka.enabled ? undefined : shipsOnThread(cfg.kafka, pipelineWorkers) ? new ShipperThread(localLog, cfg.kafka) : new KafkaShipper(localLog, cfg.kafka);
  localLog.on('head-error', (code: string) => log.warn({ code }, 'cannot store the signed chain head: after a crash, lines written since the last stored head are quarantined (unproven-tail)'));
  localLog.on('shedding', (on: boolean) => log.warn({ ...localLog.state(), shedding: on }, on ? 'disk bound pressure: shedding raw events at the source' : 'disk bound pressure over'));
  return {
    log: localLog,
    sealedSink,
    shipper,
    threadMetrics: () => (shipper instanceof ShipperThread ? shipper.threadMetrics() : []),
    onGap: (fn) => localLog.setGapWriter(fn),
    shouldShed: () => localLog.shouldShed(),
    async start(opts = {}) {
      if (!shipper) return;
      const probe = opts.probe ?? true;
      // The shipper thread probes from its own thread: kafkajs is never loaded on this one.
      if (shipper instanceof ShipperThread) return shipper.start({ probe });
      if (probe) await probeAtStart(cfg.kafka);
      shipper.start();
    },
    async close(opts = {}) {
      await shipper?.stop(opts.drainMs ? { drainMs: opts.drainMs } : {});
      await localLog.close();
    },
  };
}
