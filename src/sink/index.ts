import type { SinkConfig } from '../config/sink.js';
import type { SealedLogSink } from '../seal/log-interface.js';
import { childLogger } from '../observability/logger.js';
import { LocalLog, type GapInfo } from './local-log.js';
import { KafkaShipper, probeKafka } from './kafka-shipper.js';
import { StdoutSink, TeeSink } from './stdout.js';

export { LocalLog } from './local-log.js';
export type { GapInfo, LogPosition, Cursor, LocalLogOptions } from './local-log.js';
export { KafkaShipper, probeKafka } from './kafka-shipper.js';
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
  shipper: KafkaShipper | undefined;
  onGap(fn: (g: GapInfo) => void): void;
  /** True while the disk bound is under pressure: shed raw events at the source, counted. Never blocks. */
  shouldShed(): boolean;
  /** Check the broker once (one-line error if unreachable/misconfigured), then start shipping. */
  start(opts?: { probe?: boolean }): Promise<void>;
  /** Stop shipping (waiting up to drainMs for the tail) and close the log. */
  close(opts?: { drainMs?: number }): Promise<void>;
}

export function openSink(cfg: SinkConfig, copyTo?: NodeJS.WritableStream): OpenSink {
  const l = cfg.local;
  const localLog = new LocalLog(l.dir, { fsync: l.fsync, segmentBytes: l.segmentBytes, retentionBytes: l.retentionBytes, retentionMs: l.retentionMs, maxBytes: l.maxBytes });
  const copies = [...(cfg.stdout ? [new StdoutSink()] : []), ...(copyTo ? [new StdoutSink(copyTo as unknown as import('node:stream').Writable)] : [])];
  const sealedSink: SealedLogSink = copies.length ? new TeeSink(localLog, copies) : localLog;
  const shipper = cfg.kafka.enabled ? new KafkaShipper(localLog, cfg.kafka) : undefined;
  localLog.on('head-error', (code: string) => log.warn({ code }, 'cannot store the signed chain head: after a crash, lines written since the last stored head are quarantined (unproven-tail)'));
  localLog.on('shedding', (on: boolean) => log.warn({ ...localLog.state(), shedding: on }, on ? 'disk bound pressure: shedding raw events at the source' : 'disk bound pressure over'));
  return {
    log: localLog,
    sealedSink,
    shipper,
    onGap: (fn) => localLog.setGapWriter(fn),
    shouldShed: () => localLog.shouldShed(),
    async start(opts = {}) {
      if (!shipper) return;
      if (opts.probe ?? true) {
        try {
          await probeKafka(cfg.kafka);
        } catch (e) {
          // Wrong credentials or TLS are configuration errors: stop with one line. An unreachable
          // broker is not: the local log holds everything and shipping catches up when it appears.
          const code = (e as { code?: string }).code ?? '';
          if (code !== 'UNAVAILABLE_KAFKA') throw e;
          log.warn({ code, brokers: cfg.kafka.brokers }, 'Kafka not reachable at start; events stay in the local log until it is');
        }
      }
      shipper.start();
    },
    async close(opts = {}) {
      await shipper?.stop(opts.drainMs ? { drainMs: opts.drainMs } : {});
      await localLog.close();
    },
  };
}
