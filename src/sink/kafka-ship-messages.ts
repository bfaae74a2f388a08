import type { KafkaSinkConfig } from '../config/sink.js';
import type { MetricsJson } from '../observability/thread-metrics.js';
import type { ShipperStats } from './kafka-shipper.js';
import type { LogPosition } from './log-segments.js';

/** What the shipper thread is started with (structured-cloned). */
export interface ShipperInit {
  dir: string;
  /** Check the broker once before shipping (at the sensor's start, not on a restart after a crash). */
  probe: boolean;
  cfg: KafkaSinkConfig;
}

/** main → shipper thread */
export type ToShipper =
  /** Lines were appended to the local log (wakes a shipper waiting for more). */
  | { t: 'append' }
  | { t: 'metrics' }
  /** Ship until `drainMs` has passed or the log's end is acknowledged, then stop. */
  | { t: 'stop'; drainMs?: number };

/** shipper thread → main */
export type FromShipper =
  | { t: 'ready' }
  | { t: 'failed'; code: string; message: string; hint?: string }
  /** After each acknowledged batch or failed attempt: the acknowledged position. */
  | { t: 'progress'; pos: LogPosition; stats: ShipperStats }
  | { t: 'metrics'; metrics: MetricsJson }
  | { t: 'stopped'; pos: LogPosition; stats: ShipperStats; metrics: MetricsJson };
