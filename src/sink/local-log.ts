import {
  closeSync,
  existsSync,
  fdatasyncSync,
  fstatSync,
  fsyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readdirSync,
  readSync,
  renameSync,
  statSync,
  unlinkSync,
  writeFileSync,
  writeSync,
  readFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { EventEmitter } from 'node:events';
import { AgentrailError } from '../errors.js';
import { countDrop, countStageError, Counter, localLogBytes, registry } from '../observability/metrics.js';
import { lockLogDir, type DirLock } from './dir-lock.js';
import { Quarantine, type QuarantineInfo } from '../seal/quarantine.js';
import { HeadFile } from '../seal/signed-head.js';
import type { LogLine, SealedEvent, SealedLogSink } from '../seal/log-interface.js';

const CHECKPOINT_MARK = '"type":"dev.agentrail.log.checkpoint"';
const GAP_TYPE = 'dev.agentrail.log.gap';
const GAP_MARK = `"type":"${GAP_TYPE}"`;

/**
 * The local write-ahead log (DESIGN.md §6, format in docs/integrity.md and
 * docs/delivery.md):
 *
 *   <dir>/segments/<first sequence, 20 digits>.jsonl   one canonical sealed CloudEvent per line
 *   <dir>/cursors/<name>.json                          durable read position of one consumer
 *
 * Appends are synchronous single writes of whole lines; a torn last line left
 * by a crash is cut off when the log is reopened for writing. Readers ignore a
 * line without its trailing newline.
 */

export type FsyncPolicy = 'always' | 'never' | number;

/** A position in the log: the segment (its 20-digit name) and a byte offset in it. */
export interface LogPosition {
  segment: string;
  offset: number;
}

export interface LogEntry {
  /** The canonical line, without the newline. */
  line: string;
  /** Position just after this line: the cursor value once it is consumed. */
  next: LogPosition;
  /** Position of this line. */
  at: LogPosition;
}

export interface Cursor extends LogPosition {
  name: string;
  /** `sequence` of the last consumed event, when known (informational). */
  sequence?: string;
  updatedAt: string;
}

/** What a gap record must state when the disk bound deleted unshipped events. */
export interface GapInfo {
  /** docs/integrity.md §4 vocabulary. */
  reason: 'disk-bound';
  /** Events deleted before every consumer read them. */
  lostEvents: number;
  /** Sequence range of the deleted events, when known. */
  fromSequence?: string;
  toSequence?: string;
  /** Consumers whose cursors were moved forward past the loss. */
  consumers: string[];
}

export interface LocalLogOptions {
  fsync?: FsyncPolicy;
  segmentBytes?: number;
  /** Shipped data beyond this many bytes is deleted (oldest segments first). */
  retentionBytes?: number;
  /** Shipped segments whose last write is older than this are deleted. 0 = keep. */
  retentionMs?: number;
  /** Hard disk bound: beyond it the oldest segments go even if unshipped. 0 = 2 × retentionBytes. */
  maxBytes?: number;
  /**
   * Called (asynchronously, once per loss) when the disk bound deleted unshipped
   * events. The pipeline wires this to the Sealer, which appends a signed log.gap.
   */
  onGap?: (gap: GapInfo) => void;
  /** Open read-only (readers, tail, export): no truncation, no writes. */
  readOnly?: boolean;
}

const SEG_RE = /^(\d{20})\.jsonl$/;
const NAME_RE = /^[a-z0-9][a-z0-9._-]*$/;

const appendedTotal = new Counter({ name: 'agentrail_log_appended_total', help: 'Lines appended to the local log', registers: [registry] });
const gapTotal = new Counter({
  name: 'agentrail_log_gap_total',
  help: 'Unshipped events deleted because the disk bound was reached (each loss gets a signed log.gap)',
  registers: [registry],
});

export function segmentName(firstSequence: bigint | number): string {
  return String(firstSequence).padStart(20, '0');
}

export function comparePos(a: LogPosition, b: LogPosition): number {
  if (a.segment !== b.segment) return a.segment < b.segment ? -1 : 1;
  return a.offset - b.offset;
}

/** Pull `sequence` out of a sealed line without trusting nested keys. */
function sequenceOf(line: string): string | undefined {
  try {
    const v = (JSON.parse(line) as { sequence?: unknown }).sequence;
    return typeof v === 'string' && /^\d+$/.test(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

/** Read complete lines of one file from `offset`, in chunks. */
function* readLines(path: string, offset: number, segment: string): Generator<LogEntry> {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return; // deleted by retention meanwhile
    throw e;
  }
  try {
    const buf = Buffer.allocUnsafe(1 << 20);
    let pos = offset;
    let carry: Buffer = Buffer.alloc(0);
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, pos + carry.length);
      if (n === 0) break;
      const chunk = carry.length ? Buffer.concat([carry, buf.subarray(0, n)]) : Buffer.from(buf.subarray(0, n));
      let start = 0;
      for (;;) {
        const nl = chunk.indexOf(10, start);
        if (nl < 0) break;
        const line = chunk.toString('utf8', start, nl);
        const at = { segment, offset: pos + start };
        yield { line, at, next: { segment, offset: pos + nl + 1 } };
        start = nl + 1;
      }
      pos += start;
      carry = chunk.subarray(start);
    }
  } finally {
    closeSync(fd);
  }
}

/**
 * Append-only segmented log with durable per-consumer cursors. One writer
 * process; any number of readers (same or other processes).
 */
/** Sealed events kept in memory while writes fail (ENOSPC, EIO) before the sensor gives up. */
const MAX_STALLED_BYTES = 256 << 20;

export class LocalLog extends EventEmitter implements SealedLogSink {
  readonly dir: string;
  readonly segmentsDir: string;
  readonly cursorsDir: string;
  private readonly opts: Required<Omit<LocalLogOptions, 'onGap'>> & Pick<LocalLogOptions, 'onGap'>;
  private fd: number | undefined;
  private active: string | undefined;
  private activeSize = 0;
  private dirty = false;
  private timer: NodeJS.Timeout | undefined;
  private retentionTimer: NodeJS.Timeout | undefined;
  /** segment name → size in bytes (sealed and active), kept in memory for the writer. */
  private sizes = new Map<string, number>();
  private lastSequence: bigint | undefined;
  private closed = false;
  private shedding = false;
  private lastEnforce = 0;
  private lastShedCheck = 0;
  /** Bytes of an unterminated last line found on open (repaired by truncateTail or the first append). */
  private tornBytes = 0;
  /** Newest segment known to hold a checkpoint: retention keeps it and everything after. */
  private checkpointSegment: string | undefined;
  /** Sealed events buffered by append(ev) until the next flush. */
  private pending: string[] = [];
  private pendingSeq: number | undefined;
  private flushScheduled = false;
  private writeError: unknown;
  private stalled: string | undefined;
  /** Bytes of `pending`, kept as lines are added (a stall must not re-join them on every retry). */
  private pendingBytes = 0;
  private retry: NodeJS.Timeout | undefined;
  private lock: DirLock | undefined;
  private quarantined: QuarantineInfo | undefined;
  private head: HeadFile | undefined;
  private headSigner: (() => string) | undefined;
  private headFailed = false;

  lastQuarantine(): QuarantineInfo | undefined {
    return this.quarantined;
  }

  constructor(dir: string, options: LocalLogOptions = {}) {
    super();
    this.dir = dir;
    this.segmentsDir = join(dir, 'segments');
    this.cursorsDir = join(dir, 'cursors');
    const retentionBytes = options.retentionBytes ?? 10 * 1024 ** 3;
    this.opts = {
      fsync: options.fsync ?? 1000,
      segmentBytes: options.segmentBytes ?? 64 * 1024 * 1024,
      retentionBytes,
      retentionMs: options.retentionMs ?? 0,
      maxBytes: options.maxBytes && options.maxBytes > 0 ? options.maxBytes : 2 * retentionBytes,
      onGap: options.onGap,
      readOnly: options.readOnly ?? false,
    };
    if (this.opts.readOnly) {
      if (!existsSync(this.segmentsDir))
        throw new AgentrailError('USAGE_NO_LOG', `no local log at ${dir} (missing segments/)`, { hint: 'pass the directory given as sink.local.dir' });
      return;
    }
    try {
      mkdirSync(this.segmentsDir, { recursive: true });
      mkdirSync(this.cursorsDir, { recursive: true });
    } catch (e) {
      throw new AgentrailError('PERM_LOG_DIR', `cannot create local log directory ${dir}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`, {
        cause: e,
        hint: 'set sink.local.dir to a writable directory',
      });
    }
    // One writer per directory: a second sensor stops here with one line.
    this.lock = lockLogDir(dir);
    this.head = new HeadFile(dir);
    this.recover();
    if (typeof this.opts.fsync === 'number') {
      this.timer = setInterval(() => this.sync(), this.opts.fsync);
      this.timer.unref();
    }
    // Age retention and the shedding state must also move when nothing is appended.
    this.retentionTimer = setInterval(() => {
      try {
        this.enforceBounds();
      } catch {
        countStageError('sink', 'retention_failed');
      }
    }, 30_000);
    this.retentionTimer.unref();
  }

  /** Segment names in order. */
  segments(): string[] {
    let names: string[];
    try {
      names = readdirSync(this.segmentsDir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw e;
    }
    return names
      .map((n) => SEG_RE.exec(n)?.[1])
      .filter((n): n is string => !!n)
      .sort();
  }

  private segPath(seg: string): string {
    return join(this.segmentsDir, `${seg}.jsonl`);
  }

  /** Reopen the last segment, cutting a torn last line left by a crash. */
  private recover(): void {
    const segs = this.segments();
    for (const s of segs) this.sizes.set(s, statSync(this.segPath(s)).size);
    const last = segs.at(-1);
    if (!last) return;
    const path = this.segPath(last);
    const fd = openSync(path, 'r+');
    const size = fstatSync(fd).size;
    // Find the last newline.
    let end = size;
    const buf = Buffer.alloc(64 * 1024);
    let keep = 0;
    while (end > 0) {
      const start = Math.max(0, end - buf.length);
      const n = readSync(fd, buf, 0, end - start, start);
      const i = buf.subarray(0, n).lastIndexOf(10);
      if (i >= 0) {
        keep = start + i + 1;
        break;
      }
      end = start;
    }
    this.tornBytes = size - keep;
    closeSync(fd);
    this.sizes.set(last, size);
    // Remember the last sequence so a new segment gets a sensible name.
    let lastLine: string | undefined;
    for (const e of readLines(path, Math.max(0, keep - 1024 * 1024), last)) lastLine = e.line;
    const seq = lastLine ? sequenceOf(lastLine) : undefined;
    if (seq) this.lastSequence = BigInt(seq);
    this.active = last;
    this.activeSize = size;
    this.fd = openSync(path, 'a');
    // The newest segment holding a checkpoint (retention keeps it and what follows).
    for (let k = segs.length - 1; k >= 0 && !this.checkpointSegment; k--) {
      for (const e of readLines(this.segPath(segs[k]!), 0, segs[k]!)) {
        if (e.line.includes(CHECKPOINT_MARK) && (JSON.parse(e.line) as { type?: string }).type === 'dev.agentrail.log.checkpoint') {
          this.checkpointSegment = segs[k]!;
          break;
        }
      }
    }
    this.updateGauge();
  }

  private totalBytes(): number {
    let t = 0;
    for (const v of this.sizes.values()) t += v;
    return t;
  }

  private updateGauge(): void {
    localLogBytes.set(this.totalBytes());
  }

  /** Start a new segment named after the first sequence it will hold. */
  private roll(firstLine: string, firstSequence?: number): void {
    if (this.fd !== undefined) {
      if (this.dirty && this.opts.fsync !== 'never') fdatasyncSync(this.fd);
      closeSync(this.fd);
      this.fd = undefined;
    }
    const seq = firstSequence !== undefined ? String(firstSequence) : sequenceOf(firstLine);
    let first = seq ? BigInt(seq) : (this.lastSequence ?? 0n) + 1n;
    // Names must stay increasing even if a chain restarts its numbering.
    const prev = this.segments().at(-1);
    if (prev && BigInt(prev) >= first) first = BigInt(prev) + 1n;
    const name = segmentName(first);
    this.fd = openSync(this.segPath(name), 'a');
    this.active = name;
    this.activeSize = 0;
    this.sizes.set(name, 0);
    // Make the new directory entry durable.
    if (this.opts.fsync === 'always') {
      const dfd = openSync(this.segmentsDir, 'r');
      fsyncSync(dfd);
      closeSync(dfd);
    }
  }

  /**
   * Append canonical lines (no newlines inside). Returns the position after
   * the last line. Synchronous: when it returns, the bytes are in the kernel
   * (and on disk with fsync 'always').
   */
  appendLines(lines: readonly string[], firstSequence?: number): LogPosition {
    if (this.closed || this.opts.readOnly) throw new AgentrailError('SINK_CLOSED', 'local log is closed or read-only');
    if (lines.length === 0) return this.end();
    if (this.tornBytes > 0) this.truncateTail(1);
    let i = 0;
    let rolled = false;
    while (i < lines.length) {
      if (this.fd === undefined || this.activeSize >= this.opts.segmentBytes) {
        this.roll(lines[i]!, i === 0 ? firstSequence : undefined);
        rolled = true;
      }
      // Fill the active segment up to segmentBytes with one write.
      const parts: string[] = [];
      let bytes = 0;
      while (i < lines.length && (parts.length === 0 || this.activeSize + bytes < this.opts.segmentBytes)) {
        const l = lines[i]!;
        if (l.includes('\n')) throw new AgentrailError('SINK_BAD_LINE', 'a log line must not contain a newline');
        parts.push(l, '\n');
        bytes += Buffer.byteLength(l) + 1;
        i++;
      }
      const data = Buffer.from(parts.join(''), 'utf8');
      let off = 0;
      while (off < data.length) off += writeSync(this.fd!, data, off, data.length - off);
      this.activeSize += data.length;
      this.sizes.set(this.active!, this.activeSize);
      this.dirty = true;
    }
    const lastSeq = firstSequence !== undefined ? String(firstSequence + lines.length - 1) : sequenceOf(lines[lines.length - 1]!);
    if (lastSeq) this.lastSequence = BigInt(lastSeq);
    if (this.active) for (const l of lines) if (l.includes(CHECKPOINT_MARK)) this.checkpointSegment = this.active;
    if (this.opts.fsync === 'always') this.sync();
    appendedTotal.inc(lines.length);
    const total = this.totalBytes();
    const now = Date.now();
    if (total > this.opts.maxBytes || ((this.shedding || total > Math.min(this.opts.retentionBytes, this.opts.maxBytes * 0.9) || rolled) && now - this.lastEnforce > 100)) {
      this.lastEnforce = now;
      this.enforceBounds(now);
    }
    this.updateGauge();
    const end = this.end();
    this.emit('append', end);
    return end;
  }

  /**
   * Wire the disk-bound gap writer after construction (the Sealer needs the log first):
   *   log.setGapWriter((g) => sealer.recordGap({ reason: 'disk-bound', lostEvents: g.lostEvents,
   *     fromSequence: Number(g.fromSequence), toSequence: Number(g.toSequence), detail: 'unshipped-deleted' }))
   */
  setGapWriter(fn: (gap: GapInfo) => void): void {
    this.opts.onGap = fn;
  }

  // ---- SealedLogSink (src/seal/log-interface.ts) ------------------------------

  /** Every existing line, oldest first; an unterminated last line is marked. */
  *existingLines(): Generator<LogLine> {
    const segs = this.segments();
    for (let k = 0; k < segs.length; k++) {
      const s = segs[k]!;
      let end = 0;
      for (const e of readLines(this.segPath(s), 0, s)) {
        yield { bytes: Buffer.from(e.line, 'utf8'), terminated: true };
        end = e.next.offset;
      }
      if (k === segs.length - 1) {
        const size = statSync(this.segPath(s)).size;
        if (size > end) {
          const fd = openSync(this.segPath(s), 'r');
          const b = Buffer.alloc(size - end);
          readSync(fd, b, 0, b.length, end);
          closeSync(fd);
          yield { bytes: b, terminated: false };
        }
      }
    }
  }

  /** Remove the last `lines` lines (an unterminated last line counts as one). Returns bytes removed. */
  truncateTail(lines: number): number {
    if (this.opts.readOnly) throw new AgentrailError('SINK_CLOSED', 'local log is read-only');
    let removed = 0;
    let left = lines;
    const q = new Quarantine(this.dir);
    while (left > 0) {
      const segs = this.segments();
      const s = segs.at(-1);
      if (!s) break;
      const path = this.segPath(s);
      const size = statSync(path).size;
      const starts: number[] = [];
      let end = 0;
      for (const e of readLines(path, 0, s)) {
        starts.push(e.at.offset);
        end = e.next.offset;
      }
      if (size > end) starts.push(end); // the torn line
      const cut = Math.min(left, starts.length);
      const keep = cut === 0 ? size : starts[starts.length - cut]!;
      left -= cut;
      removed += size - keep;
      if (size > keep) {
        // Never delete evidence: the removed bytes go to the quarantine first.
        const fdq = openSync(path, 'r');
        const buf = Buffer.alloc(size - keep);
        readSync(fdq, buf, 0, buf.length, keep);
        closeSync(fdq);
        q.add(buf);
      }
      if (s === this.active && this.fd !== undefined) {
        closeSync(this.fd);
        this.fd = undefined;
      }
      if (keep === 0 && segs.length > 1) {
        unlinkSync(path);
        this.sizes.delete(s);
        if (this.checkpointSegment === s) this.checkpointSegment = undefined;
      } else {
        const fd = openSync(path, 'r+');
        ftruncateSync(fd, keep);
        fsyncSync(fd);
        closeSync(fd);
        this.sizes.set(s, keep);
        if (cut === 0 || keep === 0) break;
      }
    }
    this.tornBytes = 0;
    this.quarantined = q.commit();
    const last = this.segments().at(-1);
    if (last) {
      this.active = last;
      this.activeSize = this.sizes.get(last) ?? statSync(this.segPath(last)).size;
      this.fd = openSync(this.segPath(last), 'a');
    } else {
      this.active = undefined;
      this.activeSize = 0;
    }
    if (removed > 0) countDrop('sink', 'tail_truncated');
    this.updateGauge();
    return removed;
  }

  /** Buffer one sealed event; written in order at the next tick or flush(). */
  append(ev: SealedEvent): void {
    if (this.closed) throw new AgentrailError('SINK_CLOSED', 'local log is closed');
    if (this.pending.length === 0) this.pendingSeq = ev.sequence;
    this.pending.push(ev.canonical.toString('utf8'));
    this.pendingBytes += ev.canonical.length + 1;
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.writePending());
    }
  }

  private writePending(): void {
    this.flushScheduled = false;
    if (this.pending.length === 0) return;
    const lines = this.pending;
    const first = this.pendingSeq;
    const before = this.active !== undefined ? { seg: this.active, size: this.activeSize } : undefined;
    // Signed before the write (the sealer's state is the end of `pending`), stored right after it:
    // a SIGKILL between the two leaves only this batch unvouched.
    const note = this.signHead();
    try {
      this.appendLines(lines, first);
      this.pending = [];
      this.pendingBytes = 0;
      this.pendingSeq = undefined;
      if (this.stalled) {
        this.stalled = undefined;
        this.emit('write-recovered');
      }
      if (note !== undefined) this.storeHead(note);
    } catch (e) {
      // A full disk or an I/O error must not lose lines already in the chain: undo a partial write
      // (no torn line), keep the lines, retry, and let the pipeline shed at the source meanwhile.
      this.undoPartialWrite(before);
      const code = (e as NodeJS.ErrnoException).code ?? 'error';
      countDrop('sink', 'write_error');
      if (!this.stalled) {
        this.stalled = code;
        this.emit('write-error', code);
      }
      if (this.pendingBytes > MAX_STALLED_BYTES) {
        // Past the bound the sensor cannot keep its promise: stop with one line instead of dropping sequenced lines.
        this.writeError ??= new AgentrailError('SINK_WRITE', `local log write failed (${code}) and ${MAX_STALLED_BYTES} bytes of sealed events are waiting: stopping`);
      }
      if (!this.closed) {
        this.retry ??= setTimeout(() => {
          this.retry = undefined;
          this.writePending();
        }, 500);
      }
    }
  }

  /** Truncate the active segment back to its size before a failed write (no torn line). */
  private undoPartialWrite(before: { seg: string; size: number } | undefined): void {
    try {
      if (this.fd !== undefined && before && this.active === before.seg) {
        ftruncateSync(this.fd, before.size);
        this.activeSize = before.size;
        this.sizes.set(before.seg, before.size);
      }
    } catch {
      /* nothing more to undo */
    }
  }

  /** The errno code while writes fail (the sensor is not ready and sheds at the source), else undefined. */
  writeStalled(): string | undefined {
    return this.stalled;
  }

  /** Write buffered events (and fsync under the 'always' policy); surfaces write errors. */
  async flush(): Promise<void> {
    this.writePending();
    if (this.writeError) {
      const e = this.writeError;
      this.writeError = undefined;
      throw e instanceof AgentrailError ? e : new AgentrailError('SINK_WRITE', `local log write failed: ${(e as NodeJS.ErrnoException).code ?? 'error'}`, { cause: e });
    }
    if (this.opts.fsync === 'always') this.sync();
  }

  /** Flush written data to disk (fdatasync), then the signed head that vouches for it. */
  sync(): void {
    if (this.fd !== undefined && this.dirty) {
      fdatasyncSync(this.fd);
      this.dirty = false;
    }
    try {
      this.head?.sync();
    } catch {
      countStageError('sink', 'head_sync_failed');
    }
  }

  // ---- signed head (src/seal/signed-head.ts) ----------------------------------

  signedHead(): string | undefined {
    return this.head?.read();
  }

  setHeadSigner(sign: () => string): void {
    this.headSigner = sign;
  }

  private signHead(): string | undefined {
    if (!this.headSigner) return undefined;
    try {
      return this.headSigner();
    } catch (e) {
      this.headError(e);
      return undefined;
    }
  }

  /**
   * Every appended line is written: store the sealer's signed head over them. A failure (full disk)
   * is counted and said once; the lines it leaves unvouched are quarantined by the next recovery.
   */
  private storeHead(note: string): void {
    try {
      this.head?.write(note);
      this.headFailed = false;
    } catch (e) {
      this.headError(e);
    }
  }

  private headError(e: unknown): void {
    countStageError('sink', 'head_write_failed');
    if (!this.headFailed) {
      this.headFailed = true;
      this.emit('head-error', (e as NodeJS.ErrnoException).code ?? 'error');
    }
  }

  /** Position after the last complete line. */
  end(): LogPosition {
    if (!this.opts.readOnly && this.active) return { segment: this.active, offset: this.activeSize };
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

  /** Bytes of the log not yet read by the slowest consumer. */
  lagBytes(): number {
    const cs = this.cursors();
    if (cs.length === 0) return 0;
    let lag = 0;
    for (const c of cs) {
      let l = 0;
      for (const [s, size] of this.sizes) {
        if (s > c.segment) l += size;
        else if (s === c.segment) l += Math.max(0, size - c.offset);
      }
      lag = Math.max(lag, l);
    }
    return lag;
  }

  // ---- retention and back-pressure ------------------------------------------

  /**
   * True while the log is near its disk bound with unshipped data: the
   * pipeline then sheds raw events at the source (counting them) instead of
   * sealing more. Never blocks.
   */
  shouldShed(): boolean {
    if (this.stalled) return true;
    // Re-check (at most every 100 ms) so shedding stops once consumers catch up, even without appends.
    const now = Date.now();
    if (this.shedding && !this.opts.readOnly && now - this.lastShedCheck > 100) {
      this.lastShedCheck = now;
      const cursors = this.cursors();
      const lag = cursors.length ? this.lagBytes() : 0;
      if (!(lag > this.opts.maxBytes * 0.5)) {
        this.shedding = false;
        this.emit('shedding', false);
      }
    }
    return this.shedding;
  }

  /** State for metrics, /healthz and tests. */
  state(): { bytes: number; maxBytes: number; lagBytes: number; shedding: boolean; segments: number } {
    return { bytes: this.totalBytes(), maxBytes: this.opts.maxBytes, lagBytes: this.lagBytes(), shedding: this.shedding, segments: this.sizes.size };
  }

  /** Apply retention now (also runs after every append). */
  enforceBounds(now = Date.now()): void {
    if (this.opts.readOnly) return;
    const cursors = this.cursors();
    const minCursor = cursors.reduce<LogPosition | undefined>((m, c) => (!m || comparePos(c, m) < 0 ? c : m), undefined);
    /** A segment is shipped when every consumer has moved past it (or there are no consumers). */
    const shipped = (s: string) => !minCursor || s < minCursor.segment;
    let total = this.totalBytes();
    const segs = [...this.sizes.keys()].sort();
    // 1. Normal retention: only shipped, non-active segments, by age then by size.
    const keepFrom = this.checkpointSegment ?? this.active;
    for (const s of segs) {
      if (s === this.active || (keepFrom && s >= keepFrom)) break;
      if (!shipped(s)) break;
      let old = false;
      if (this.opts.retentionMs > 0) {
        try {
          old = now - statSync(this.segPath(s)).mtimeMs > this.opts.retentionMs;
        } catch {
          old = true;
        }
      }
      if (old || total > this.opts.retentionBytes) {
        total -= this.deleteSegment(s);
      } else break;
    }
    // 2. Hard bound: delete the oldest unshipped segments, count them, and say so.
    let lostNow = false;
    if (total > this.opts.maxBytes) {
      let lost = 0;
      let carried = 0;
      let fromSeq: string | undefined;
      let toSeq: string | undefined;
      let firstKept: string | undefined;
      for (const s of [...this.sizes.keys()].sort()) {
        if (total <= this.opts.maxBytes * 0.8 || s === this.active || (keepFrom && s >= keepFrom)) {
          firstKept = s;
          break;
        }
        // Count the events that no consumer has read.
        const behind = cursors.filter((c) => c.segment <= s);
        if (behind.length) {
          const from = behind.reduce((m, c) => (comparePos(c, m) < 0 ? c : m), behind[0]!);
          for (const e of readLines(this.segPath(s), from.segment === s ? from.offset : 0, s)) {
            lost++;
            const q = sequenceOf(e.line);
            if (q) {
              fromSeq ??= q;
              toSeq = q;
            }
            // An earlier disk-bound gap record deleted unshipped: carry its count and range
            // forward, so the surviving record states the whole loss.
            if (e.line.includes(GAP_MARK)) {
              try {
                const g = JSON.parse(e.line) as { type?: string; data?: { reason?: string; lostEvents?: number; fromSequence?: string } };
                if (g.type === GAP_TYPE && g.data?.reason === 'disk-bound') {
                  carried += Number(g.data.lostEvents ?? 0);
                  if (g.data.fromSequence && (!fromSeq || BigInt(g.data.fromSequence) < BigInt(fromSeq))) fromSeq = g.data.fromSequence;
                }
              } catch {
                /* not JSON: counted as one lost line above */
              }
            }
          }
        }
        total -= this.deleteSegment(s);
      }
      const next = firstKept ?? this.active!;
      const moved: string[] = [];
      for (const c of cursors) {
        if (c.segment < next) {
          this.writeCursor(c.name, { segment: next, offset: 0 });
          moved.push(c.name);
        }
      }
      if (lost > 0) {
        lostNow = true;
        gapTotal.inc(lost);
        countDrop('sink', 'disk_bound', lost);
        const gap: GapInfo = { reason: 'disk-bound', lostEvents: lost + carried, consumers: moved };
        if (fromSeq) gap.fromSequence = fromSeq;
        if (toSeq) gap.toSequence = toSeq;
        this.emit('gap', gap);
        // Deferred: the gap writer appends to this log through the Sealer.
        if (this.opts.onGap)
          setImmediate(() => {
            try {
              this.opts.onGap!(gap);
            } catch {
              // The gap stays counted in agentrail_log_gap_total even if the sealer is already closed.
              countStageError('sink', 'gap_record_failed');
            }
          });
      }
    }
    // 3. Back-pressure: shed at the source once unshipped data fills ≥ 90 % of the bound (or
    //    the bound already deleted unshipped data), until the consumers are back under 50 %.
    const wasShedding = this.shedding;
    const lag = cursors.length > 0 ? this.lagBytes() : 0;
    this.shedding = cursors.length > 0 && (lag >= this.opts.maxBytes * 0.9 || lostNow || (wasShedding && lag > this.opts.maxBytes * 0.5));
    if (this.shedding !== wasShedding) this.emit('shedding', this.shedding);
  }

  private deleteSegment(s: string): number {
    const size = this.sizes.get(s) ?? 0;
    try {
      unlinkSync(this.segPath(s));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    this.sizes.delete(s);
    return size;
  }

  async close(): Promise<void> {
    this.closeSync();
  }

  closeSync(): void {
    if (this.closed) return;
    this.writePending();
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    if (this.retentionTimer) clearInterval(this.retentionTimer);
    if (this.retry) clearTimeout(this.retry);
    if (this.pending.length) {
      // Still failing at close: these sealed events are lost. Loud here; the next start records an unclean stop.
      countDrop('sink', 'unwritten_at_close', this.pending.length);
      this.emit('unwritten', this.pending.length);
    }
    if (this.fd !== undefined) {
      if (this.dirty && this.opts.fsync !== 'never') fdatasyncSync(this.fd);
      closeSync(this.fd);
      this.fd = undefined;
    }
    this.lock?.release();
    this.removeAllListeners();
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
