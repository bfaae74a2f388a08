import type { Writable } from 'node:stream';
import { countDrop } from '../observability/metrics.js';
import type { LogLine, SealedEvent, SealedLogSink } from '../seal/log-interface.js';
import type { QuarantineInfo } from '../seal/quarantine.js';

/**
 * A copy of every sealed event, one canonical line each, to stdout (or any stream): for
 * `agentrail run | jq`, log shippers that read container stdout, and debugging. The local log
 * stays the write-ahead log; this copy never blocks the pipeline: when the stream does not
 * drain and `maxBufferedBytes` is exceeded, lines are dropped and counted
 * (agentrail_dropped_total{stage="sink",reason="stdout_backpressure"}).
 */
export class StdoutSink {
  private buffered = 0;
  private blocked = false;
  constructor(
    private readonly out: Writable = process.stdout,
    private readonly maxBufferedBytes = 64 * 1024 * 1024,
  ) {
    out.on('drain', () => {
      this.blocked = false;
      this.buffered = 0;
    });
  }

  write(ev: SealedEvent): void {
    const n = ev.canonical.length + 1;
    if (this.blocked && this.buffered + n > this.maxBufferedBytes) {
      countDrop('sink', 'stdout_backpressure');
      return;
    }
    const ok = this.out.write(Buffer.concat([ev.canonical, Buffer.from('\n')]));
    if (!ok) {
      this.blocked = true;
      this.buffered += n;
    }
  }
}

/**
 * The sealer writes through one SealedLogSink: this tee keeps the local log as the primary
 * (recovery, flush, close) and copies every appended event to secondary writers.
 */
export class TeeSink implements SealedLogSink {
  constructor(
    private readonly primary: SealedLogSink,
    private readonly copies: Array<{ write(ev: SealedEvent): void }>,
  ) {}
  existingLines(): Iterable<LogLine> | AsyncIterable<LogLine> {
    return this.primary.existingLines();
  }
  truncateTail(lines: number): number | Promise<number> {
    return this.primary.truncateTail(lines);
  }
  lastQuarantine(): QuarantineInfo | undefined {
    return this.primary.lastQuarantine?.();
  }
  signedHead(): string | undefined {
    return this.primary.signedHead?.();
  }
  setHeadSigner(sign: () => string): void {
    this.primary.setHeadSigner?.(sign);
  }
  append(ev: SealedEvent): void {
    this.primary.append(ev); // write-ahead: the local log first
    for (const c of this.copies) c.write(ev);
  }
  flush(): Promise<void> {
    return this.primary.flush();
  }
  close(): Promise<void> {
    return this.primary.close();
  }
}
