/**
 * Entry point of the seal stage for the pipeline: open the chain of this sensor instance from the
 * validated `seal` config section and a SealedLogSink (helper D's LocalLog in production).
 */
import type { SealConfig } from '../config/seal.js';
import { KeySet } from './keys.js';
import type { SealedLogSink } from './log-interface.js';
import { Sealer } from './sealer.js';

export { Sealer } from './sealer.js';
export type { GapInfo, GapReason, RecoveryReport, SealerOptions } from './sealer.js';
export type { LogLine, SealedEvent, SealedLogSink } from './log-interface.js';
export { KeySet, generateKey } from './keys.js';

export function openSealerFromConfig(
  cfg: SealConfig,
  sink: SealedLogSink,
  source: string,
  startInfo?: Record<string, unknown>,
  /** Default: the files of `cfg.keys`. */
  keys: KeySet = KeySet.fromFiles(cfg.keys),
): Promise<Sealer> {
  return Sealer.open({
    sink,
    source,
    ...(cfg.origin ? { origin: cfg.origin } : {}),
    keys,
    checkpointEvents: cfg.checkpoint.events,
    checkpointIntervalMs: cfg.checkpoint.intervalMs,
    eventSignatures: cfg.eventSignatures,
    maxTruncateBytes: cfg.recovery.maxTruncateBytes,
    ...(startInfo ? { startInfo } : {}),
  });
}
