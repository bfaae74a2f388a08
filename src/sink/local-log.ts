import { closeSync, existsSync, fdatasyncSync, fsyncSync, ftruncateSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { AgentrailError } from '../errors.js';
import { countDrop, countStageError, Counter, registry } from '../observability/metrics.js';
import { lockLogDir, type DirLock } from './dir-lock.js';
import type { QuarantineInfo } from '../seal/quarantine.js';
import { HeadFile } from '../seal/signed-head.js';
import type { LogLine, SealedEvent, SealedLogSink } from '../seal/log-interface.js';
import { cutTail, existingLines, inspectForAppend } from './log-repair.js';
import { RetainedLog, type GapInfo } from './log-retention.js';
import { CHECKPOINT_MARK, segmentName, sequenceOf, type LogPosition } from './log-segments.js';

export type { Cursor } from './log-reader.js';
export { writeFileAtomic } from './log-reader.js';
export type { GapInfo } from './log-retention.js';
export { comparePos, segmentName, type LogEntry, type LogPosition } from './log-segments.js';

/**
 * The local write-ahead log (DESIGN.md §6, format in docs/integrity.md and docs/delivery.md):
 *
 *   <dir>/segments/<first sequence, 20 digits>.jsonl   one canonical sealed CloudEvent per line
 *   <dir>/cursors/<name>.json                          durable read position of one consumer
 *   <dir>/head.note                                    signed chain head after the last write
 *
 * This module is the writer: buffered appends written once per event loop turn, segment rotation,
 * fsync policy, write-error stalls and the signed head. Reading and cursors: log-reader.ts;
 * retention and back-pressure: log-retention.ts; reopening and tail repair: log-repair.ts.
 */

export type FsyncPolicy = 'always' | 'never' | number;

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

const appendedTotal = new Counter({ name: 'agentrail_log_appended_total', help: 'Lines appended to the local log', registers: [registry] });

/** Sealed events kept in memory while writes fail (ENOSPC, EIO) before the sensor gives up. */
const MAX_STALLED_BYTES = 256 << 20;
const NEWLINE = 0x0a;
const LINE_END = Buffer.from('\n');
const CHECKPOINT_MARK_BYTES = Buffer.from(CHECKPOINT_MARK, 'utf8');

/**
 * Append-only segmented log with durable per-consumer cursors. One writer
 * process; any number of readers (same or other processes).
 */
export class LocalLog extends RetainedLog implements SealedLogSink {
  protected readonly opts: Required<Omit<LocalLogOptions, 'onGap'>> & Pick<LocalLogOptions, 'onGap'>;
  private fd: number | undefined;
  private activeSize = 0;
  private dirty = false;
  private timer: NodeJS.Timeout | undefined;
  private retentionTimer: NodeJS.Timeout | undefined;
  private lastSequence: bigint | undefined;
  private closed = false;
  private lastEnforce = 0;
  /** Bytes of an unterminated last line found on open (repaired by truncateTail or the first append). */
  private tornBytes = 0;
  /** Sealed events buffered by append(ev) until the next flush. */
  private pending: Buffer[] = [];
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

  lastQuarantine(): QuarantineInfo | undefined {
    return this.quarantined;
  }

  constructor(dir: string, options: LocalLogOptions = {}) {
    super(dir);
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
    this.head = new HeadFile(dir, (code) => this.emit('head-error', code));
    this.reopen();
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

  /** Reopen the last segment for appending (a torn last line is cut by the sealer or the first append). */
  private reopen(): void {
    const st = inspectForAppend(this.segmentsDir);
    this.sizes = st.sizes;
    this.tornBytes = st.tornBytes;
    if (st.lastSequence !== undefined) this.lastSequence = st.lastSequence;
    this.checkpointSegment = st.checkpointSegment;
    if (st.last) {
      this.active = st.last;
      this.activeSize = st.sizes.get(st.last) ?? 0;
      this.fd = openSync(this.segPath(st.last), 'a');
    }
    this.updateGauge();
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
  appendLines(lines: readonly (string | Uint8Array)[], firstSequence?: number): LogPosition {
    if (this.closed || this.opts.readOnly) throw new AgentrailError('SINK_CLOSED', 'local log is closed or read-only');
    if (lines.length === 0) return this.end();
    if (this.tornBytes > 0) this.truncateTail(1);
    // Sealed events arrive as their canonical bytes: written as they are, never decoded and re-encoded.
    const bufs = lines.map((l) => (typeof l === 'string' ? Buffer.from(l, 'utf8') : Buffer.from(l.buffer, l.byteOffset, l.byteLength)));
    let i = 0;
    let rolled = false;
    while (i < bufs.length) {
      if (this.fd === undefined || this.activeSize >= this.opts.segmentBytes) {
        this.roll(i === 0 && firstSequence !== undefined ? '' : bufs[i]!.toString('utf8'), i === 0 ? firstSequence : undefined);
        rolled = true;
      }
      // Fill the active segment up to segmentBytes with one write.
      const parts: Buffer[] = [];
      let bytes = 0;
      while (i < bufs.length && (parts.length === 0 || this.activeSize + bytes < this.opts.segmentBytes)) {
        const l = bufs[i]!;
        if (l.indexOf(NEWLINE) >= 0) throw new AgentrailError('SINK_BAD_LINE', 'a log line must not contain a newline');
        parts.push(l, LINE_END);
        bytes += l.length + 1;
        i++;
      }
      const data = Buffer.concat(parts, bytes);
      let off = 0;
      while (off < data.length) off += writeSync(this.fd!, data, off, data.length - off);
      this.activeSize += data.length;
      this.sizes.set(this.active!, this.activeSize);
      this.dirty = true;
    }
    const lastSeq = firstSequence !== undefined ? String(firstSequence + lines.length - 1) : sequenceOf(bufs[bufs.length - 1]!.toString('utf8'));
    if (lastSeq) this.lastSequence = BigInt(lastSeq);
    if (this.active) for (const l of bufs) if (l.indexOf(CHECKPOINT_MARK_BYTES) >= 0) this.checkpointSegment = this.active;
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

  // ---- SealedLogSink (src/seal/log-interface.ts) ------------------------------

  /** Every existing line, oldest first; an unterminated last line is marked. */
  existingLines(): Generator<LogLine> {
    return existingLines(this.segmentsDir);
  }

  /** Remove the last `lines` lines (an unterminated last line counts as one) into the quarantine. Returns bytes removed. */
  truncateTail(lines: number): number {
    if (this.opts.readOnly) throw new AgentrailError('SINK_CLOSED', 'local log is read-only');
    if (this.fd !== undefined) {
      closeSync(this.fd);
      this.fd = undefined;
    }
    const r = cutTail(this.dir, this.segmentsDir, lines);
    for (const [s, size] of r.changed) {
      if (size === undefined) {
        this.sizes.delete(s);
        if (this.checkpointSegment === s) this.checkpointSegment = undefined;
      } else this.sizes.set(s, size);
    }
    this.tornBytes = 0;
    this.quarantined = r.quarantine;
    const last = this.segments().at(-1);
    if (last) {
      this.active = last;
      this.activeSize = this.sizes.get(last) ?? 0;
      this.fd = openSync(this.segPath(last), 'a');
    } else {
      this.active = undefined;
      this.activeSize = 0;
    }
    if (r.removed > 0) countDrop('sink', 'tail_truncated');
    this.updateGauge();
    return r.removed;
  }

  /** Buffer one sealed event; written in order at the next tick or flush(). */
  append(ev: SealedEvent): void {
    if (this.closed) throw new AgentrailError('SINK_CLOSED', 'local log is closed');
    if (this.pending.length === 0) this.pendingSeq = ev.sequence;
    this.pending.push(ev.canonical);
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
    const note = this.head?.sign();
    try {
      this.appendLines(lines, first);
      this.pending = [];
      this.pendingBytes = 0;
      this.pendingSeq = undefined;
      if (this.stalled) {
        this.stalled = undefined;
        this.emit('write-recovered');
      }
      if (note !== undefined) this.head?.store(note);
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
    this.head?.sync();
  }

  // ---- signed head (src/seal/signed-head.ts) ----------------------------------

  signedHead(): string | undefined {
    return this.head?.read();
  }

  setHeadSigner(sign: () => string): void {
    this.head?.setSigner(sign);
  }

  /** Position after the last complete line. */
  override end(): LogPosition {
    if (!this.opts.readOnly && this.active) return { segment: this.active, offset: this.activeSize };
    return super.end();
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
    if (this.opts.fsync !== 'never') this.head?.sync();
    this.head?.close();
    this.lock?.release();
    this.removeAllListeners();
  }
}
