/**
 * Minimal SealedLogSink writing the local log format of docs/integrity.md §2 (segments named by
 * their first sequence, one canonical event per line). Used by tests, benchmarks and the seal
 * commands; the production sink with fsync policy, retention and cursors is src/sink/local-log.ts.
 * Writes are buffered and issued in fixed-size chunks, so a SIGKILL can leave a torn last line:
 * the sealer must (and does) repair that on the next start.
 */
import { closeSync, fsyncSync, ftruncateSync, mkdirSync, openSync, readFileSync, readdirSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { Quarantine, type QuarantineInfo } from './quarantine.js';
import type { LogLine, SealedEvent, SealedLogSink } from './log-interface.js';

export const SEGMENT_RE = /^[0-9]{20}\.jsonl$/;

export function segmentName(firstSequence: number): string {
  return `${String(firstSequence).padStart(20, '0')}.jsonl`;
}

export interface FileLogSinkOptions {
  /** Lines per segment before rotating (default 100 000). */
  segmentEvents?: number;
  /** Bytes buffered before a write(2) (default 64 KiB). */
  chunkBytes?: number;
  fsync?: boolean;
}

export class FileLogSink implements SealedLogSink {
  readonly segDir: string;
  private fd: number | undefined;
  private linesInSegment = 0;
  private buf: Buffer[] = [];
  private bufBytes = 0;
  private readonly segmentEvents: number;
  private readonly chunkBytes: number;

  constructor(
    readonly dir: string,
    private readonly opts: FileLogSinkOptions = {},
  ) {
    this.segDir = join(dir, 'segments');
    mkdirSync(this.segDir, { recursive: true });
    this.segmentEvents = opts.segmentEvents ?? 100_000;
    this.chunkBytes = opts.chunkBytes ?? 64 * 1024;
  }

  private segments(): string[] {
    return readdirSync(this.segDir)
      .filter((n) => SEGMENT_RE.test(n))
      .sort();
  }

  *existingLines(): Iterable<LogLine> {
    for (const name of this.segments()) {
      const data = readFileSync(join(this.segDir, name));
      let start = 0;
      for (;;) {
        const nl = data.indexOf(10, start);
        if (nl < 0) break;
        yield { bytes: data.subarray(start, nl), terminated: true };
        start = nl + 1;
      }
      if (start < data.length) yield { bytes: data.subarray(start), terminated: false };
    }
  }

  private quarantined: QuarantineInfo | undefined;
  lastQuarantine(): QuarantineInfo | undefined {
    return this.quarantined;
  }

  truncateTail(lines: number): number {
    let removed = 0;
    let left = lines;
    const q = new Quarantine(join(this.segDir, '..'));
    const segs = this.segments();
    while (left > 0 && segs.length > 0) {
      const name = segs.pop()!;
      const path = join(this.segDir, name);
      const data = readFileSync(path);
      // Line start offsets, a trailing unterminated fragment counting as a line.
      const starts: number[] = [];
      let s = 0;
      while (s < data.length) {
        starts.push(s);
        const nl = data.indexOf(10, s);
        s = nl < 0 ? data.length : nl + 1;
      }
      if (starts.length <= left) {
        q.add(data);
        removed += data.length;
        left -= starts.length;
        unlinkSync(path);
      } else {
        const cut = starts[starts.length - left]!;
        q.add(data.subarray(cut));
        removed += data.length - cut;
        const fd = openSync(path, 'r+');
        ftruncateSync(fd, cut);
        fsyncSync(fd);
        closeSync(fd);
        left = 0;
      }
    }
    this.quarantined = q.commit();
    return removed;
  }

  private openFor(sequence: number): void {
    const segs = this.segments();
    const last = segs[segs.length - 1];
    if (this.fd === undefined && last) {
      const path = join(this.segDir, last);
      const data = readFileSync(path);
      let n = 0;
      for (let i = data.indexOf(10); i >= 0; i = data.indexOf(10, i + 1)) n++;
      if (n < this.segmentEvents && statSync(path).size > 0) {
        this.fd = openSync(path, 'a');
        this.linesInSegment = n;
        return;
      }
    }
    this.flushBuffer();
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = openSync(join(this.segDir, segmentName(sequence)), 'a');
    this.linesInSegment = 0;
  }

  append(ev: SealedEvent): void {
    if (this.fd === undefined || this.linesInSegment >= this.segmentEvents) this.openFor(ev.sequence);
    this.buf.push(ev.canonical, NL);
    this.bufBytes += ev.canonical.length + 1;
    this.linesInSegment++;
    if (this.bufBytes >= this.chunkBytes) this.flushBuffer();
  }

  private flushBuffer(): void {
    if (this.bufBytes === 0 || this.fd === undefined) return;
    const all = Buffer.concat(this.buf, this.bufBytes);
    this.buf = [];
    this.bufBytes = 0;
    // Fixed-size write(2) calls: a kill between two of them tears a line, as a crash would.
    for (let off = 0; off < all.length; off += this.chunkBytes) writeSync(this.fd, all, off, Math.min(this.chunkBytes, all.length - off));
  }

  async flush(): Promise<void> {
    this.flushBuffer();
    if (this.opts.fsync && this.fd !== undefined) fsyncSync(this.fd);
  }

  async close(): Promise<void> {
    await this.flush();
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}

const NL = Buffer.from('\n');
