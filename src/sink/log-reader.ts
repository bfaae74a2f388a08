/**
 * Reading the local log (any number of readers, in this or other processes) and the durable
 * per-consumer cursors (`<dir>/cursors/<name>.json`). The writer (local-log.ts) extends this.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { EventEmitter } from 'node:events';
import { AgentrailError } from '../errors.js';
import { listSegments, readLines, segmentName, segmentPath, type LogEntry, type LogPosition } from './log-segments.js';

export interface Cursor extends LogPosition {
  name: string;
  /** `sequence` of the last consumed event, when known (informational). */
  sequence?: string;
  updatedAt: string;
}

const NAME_RE = /^[a-z0-9][a-z0-9._-]*$/;

export class LogReader extends EventEmitter {
  readonly dir: string;
  readonly segmentsDir: string;
  readonly cursorsDir: string;

  constructor(dir: string) {
    super();
    this.dir = dir;
    this.segmentsDir = join(dir, 'segments');
    this.cursorsDir = join(dir, 'cursors');
  }

  /** Segment names in order. */
  segments(): string[] {
    return listSegments(this.segmentsDir);
  }

  protected segPath(seg: string): string {
    return segmentPath(this.segmentsDir, seg);
  }

  /** Position after the last complete line. */
  end(): LogPosition {
    const last = this.segments().at(-1);
    if (!last) return { segment: segmentName(0), offset: 0 };
    return { segment: last, offset: statSync(this.segPath(last)).size };
  }

  /** Position of the first line still held. */
  start(): LogPosition {
    const first = this.segments()[0];
    return { segment: first ?? segmentName(0), offset: 0 };
  }

  /**
   * Every complete line from `from` (default: the start) in order, up to the
   * end at the time each segment is read.
   */
  *scan(from?: LogPosition): Generator<LogEntry> {
    const segs = this.segments();
    for (const s of segs) {
      if (from && s < from.segment) continue;
      const off = from && s === from.segment ? from.offset : 0;
      yield* readLines(this.segPath(s), off, s);
    }
  }

  /** Up to `max` lines from `from`; an empty array means nothing new yet. */
  read(from: LogPosition, max: number, maxBytes = 8 * 1024 * 1024): LogEntry[] {
    const out: LogEntry[] = [];
    let bytes = 0;
    // A cursor may point to a segment deleted by retention: skip to the next one held.
    const segs = this.segments();
    if (segs.length && from.segment < segs[0]!) from = { segment: segs[0]!, offset: 0 };
    for (const e of this.scan(from)) {
      out.push(e);
      bytes += e.line.length;
      if (out.length >= max || bytes >= maxBytes) break;
    }
    return out;
  }

  /**
   * Follow the log: yields lines from `from` forever (until `signal` aborts),
   * waking on in-process appends or polling the files (other writer process).
   */
  async *follow(from: LogPosition | undefined, opts: { signal?: AbortSignal; pollMs?: number } = {}): AsyncGenerator<LogEntry> {
    let pos = from ?? this.start();
    const pollMs = opts.pollMs ?? 200;
    while (!opts.signal?.aborted) {
      const batch = this.read(pos, 1000);
      for (const e of batch) {
        yield e;
        pos = e.next;
      }
      if (batch.length === 0) {
        // Move to the next segment once the current one is complete and a newer exists.
        const segs = this.segments();
        const idx = segs.indexOf(pos.segment);
        if (idx >= 0 && idx < segs.length - 1) {
          pos = { segment: segs[idx + 1]!, offset: 0 };
          continue;
        }
        if (idx < 0 && segs.length && segs.some((s) => s > pos.segment)) {
          pos = { segment: segs.find((s) => s > pos.segment)!, offset: 0 };
          continue;
        }
        await this.waitForAppend(pollMs, opts.signal);
      }
    }
  }

  /** Resolve on the next in-process append, after `ms`, or on abort. */
  waitForAppend(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(t);
        this.off('append', done);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const t = setTimeout(done, ms);
      this.once('append', done);
      signal?.addEventListener('abort', done, { once: true });
    });
  }

  // ---- cursors ---------------------------------------------------------------

  private cursorPath(name: string): string {
    if (!NAME_RE.test(name)) throw new AgentrailError('USAGE_CURSOR_NAME', `bad cursor name "${name}" (use a-z 0-9 . _ -)`);
    return join(this.cursorsDir, `${name}.json`);
  }

  readCursor(name: string): Cursor | undefined {
    try {
      const c = JSON.parse(readFileSync(this.cursorPath(name), 'utf8')) as Cursor;
      if (typeof c.segment !== 'string' || typeof c.offset !== 'number') return undefined;
      return c;
    } catch {
      return undefined;
    }
  }

  /** Durably record a consumer's position: write a temp file, fsync, rename, fsync the directory. */
  writeCursor(name: string, pos: LogPosition, sequence?: string): void {
    const path = this.cursorPath(name);
    const c: Cursor = { name, segment: pos.segment, offset: pos.offset, updatedAt: new Date().toISOString() };
    if (sequence !== undefined) c.sequence = sequence;
    mkdirSync(this.cursorsDir, { recursive: true });
    const tmp = `${path}.tmp-${process.pid}`;
    const fd = openSync(tmp, 'w');
    try {
      writeSync(fd, JSON.stringify(c) + '\n');
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
    try {
      const dfd = openSync(this.cursorsDir, 'r');
      fsyncSync(dfd);
      closeSync(dfd);
    } catch {
      /* directory fsync is best effort on exotic filesystems */
    }
  }

  /** Register a consumer at the start of the log if it has no cursor yet. */
  ensureCursor(name: string): Cursor {
    const c = this.readCursor(name);
    if (c) return c;
    this.writeCursor(name, this.start());
    return this.readCursor(name)!;
  }

  cursors(): Cursor[] {
    let names: string[] = [];
    try {
      names = readdirSync(this.cursorsDir).filter((n) => n.endsWith('.json'));
    } catch {
      return [];
    }
    return names.map((n) => this.readCursor(n.slice(0, -5))).filter((c): c is Cursor => !!c);
  }
}

/** Write a whole file atomically (temp + fsync + rename). */
export function writeFileAtomic(path: string, data: string): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, data);
  const fd = openSync(tmp, 'r');
  fsyncSync(fd);
  closeSync(fd);
  renameSync(tmp, path);
}
