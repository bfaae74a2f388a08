import { AgentrailError } from '../errors.js';
import type { CollectorConfig } from '../config/collector.js';
import { BpftraceSource } from './bpftrace-source.js';
import { ReplaySource } from './replay-source.js';
import { SelectionFilter } from './selection-filter.js';
import { selectsSomething } from './selection.js';
import type { RawSource, Selection } from './source.js';

export interface SourceChoice {
  /** Replay this capture file instead of tracing. */
  replay?: string;
  /** Pace a replay by the recorded ktime. */
  realtime?: boolean;
  collector: 'native' | 'bpftrace';
  selection: Selection;
  config: Readonly<CollectorConfig>;
  /** Start with nothing selected: selection arrives later (Kubernetes pods matching the selector). */
  allowEmptySelection?: boolean;
}

/** A source plus the user-space part of the selection; every batch goes through `filter`. */
export interface OpenedSource {
  source: RawSource;
  /** Applied to each batch before anything else (identity when the kernel did all the selecting). */
  filter(batch: Buffer): Buffer;
  /** Resolves once the source is producing (probes attached). */
  start(): Promise<void>;
}

/**
 * The one place that turns CLI/config choices into a source (used by
 * `run --raw`, `record` and the pipeline). Live collectors need a selection;
 * both collectors match `--comm` in the kernel at exec.
 */
export async function createSource(choice: SourceChoice): Promise<OpenedSource> {
  const sel = choice.selection;
  if (choice.replay) {
    const source = new ReplaySource(choice.replay, { pace: choice.realtime ? 'realtime' : 'full' });
    const f = selectsSomething(sel) ? new SelectionFilter(sel) : undefined;
    return { source, filter: (b) => (f ? f.filterBatch(b) : b), start: async () => {} };
  }
  if (!selectsSomething(sel) && !choice.allowEmptySelection)
    throw new AgentrailError('USAGE_NO_SELECTION', 'no processes selected', { hint: 'pass --pid N, --cgroup PATH|ID, --comm NAME or --all' });
  const cfg = choice.config;
  if (choice.collector === 'bpftrace') {
    const source = new BpftraceSource({ selection: sel, bpftracePath: cfg.bpftracePath });
    return { source, filter: (b) => b, start: () => source.start() };
  }
  // Loaded lazily: the addon is only needed for the native collector. --comm is matched
  // in the kernel at exec (ar_comms), so untraced processes never reach user space.
  const { NativeSource } = await import('./native-source.js');
  const native = new NativeSource({
    selection: sel,
    tlsCap: cfg.tlsCap,
    pipeCap: cfg.pipeCap,
    flushIntervalMs: cfg.flushIntervalMs,
    ringBytes: cfg.ringBytes,
  });
  return {
    source: native,
    filter: (b) => b,
    start: async () => native.start(),
  };
}
