import type { SealedEvent, SealedLogSink } from '../../src/seal/log-interface.js';

/** A SealedLogSink that keeps the sealed lines in memory (no recovery, no disk): seal tests and benchmarks. */
export class MemorySink implements SealedLogSink {
  /** Canonical bytes of each appended event, in order. */
  lines: Buffer[] = [];
  /** Bytes a log file would hold (lines + newlines). */
  bytes = 0;
  constructor(private readonly keep = true) {}
  *existingLines() {}
  truncateTail() {
    return 0;
  }
  append(ev: SealedEvent) {
    if (this.keep) this.lines.push(ev.canonical);
    this.bytes += ev.canonical.length + 1;
  }
  async flush() {}
  async close() {}
}
