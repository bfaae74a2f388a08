import type { Config } from '../config/schema.js';
import type { CanonicalParts } from '../seal/canonical.js';
import type { WorkloadIdentity } from '../correlate/workload-resolver.js';
import type { MetricsJson } from '../observability/thread-metrics.js';

/** What a shard worker is started with (structured-cloned). */
export interface ShardInit {
  shard: number;
  config: Config;
  /** The chain's CloudEvents source (events are sealed on the main thread into one chain). */
  source: string;
  readProc: boolean;
  /** The deployment key for keyed hashes of short content and low-entropy values. */
  hmacKey: Uint8Array;
  hmacKeyFile: string;
  /** Workload identities come from the main thread (`identity` messages) instead of this worker. */
  forwardedIdentity: boolean;
}

export type { MetricsJson };

/** main → worker */
export type ToShard =
  | { t: 'batch'; bytes: Uint8Array }
  | { t: 'metrics' }
  /** The workload identity of a cgroup, resolved on the main thread (Kubernetes), sent before its records and on change. */
  | { t: 'identity'; cgroupId: bigint; identity: WorkloadIdentity | null }
  | { t: 'close' };

/** worker → main */
export type FromShard =
  | { t: 'ready' }
  /**
   * Events the stages produced since the last message, in order, as canonical parts for the main
   * thread's sealer (or `notJson` for one that cannot be sealed); `done` batches were consumed.
   */
  | { t: 'events'; events: ShardEvent[]; done: number }
  | { t: 'metrics'; metrics: MetricsJson }
  /** After close: the last events were sent before this. */
  | { t: 'closed'; metrics: MetricsJson }
  | { t: 'failed'; code: string; message: string };

/** One event from a worker: its canonical members, or the mark of an event that is not JSON (sealed as a gap). */
export type ShardEvent = CanonicalParts | { notJson: true };
