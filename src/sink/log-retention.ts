/**
 * Retention and back-pressure of the local log (DESIGN.md §6, docs/delivery.md): shipped segments go
 * by age and size; past the hard disk bound the oldest unshipped segments go too, counted and
 * recorded as a signed log.gap; near the bound the pipeline sheds at the source instead of sealing
 * more. The newest segment holding a checkpoint is always kept (the sealer re-anchors there).
 */
import { statSync, unlinkSync } from 'node:fs';
import { countDrop, countStageError, Counter, localLogBytes, registry } from '../observability/metrics.js';
import { LogReader } from './log-reader.js';
import { comparePos, GAP_MARK, GAP_TYPE, readLines, sequenceOf, type LogPosition } from './log-segments.js';

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

export interface RetentionOptions {
  /** Shipped data beyond this many bytes is deleted (oldest segments first). */
  retentionBytes: number;
  /** Shipped segments whose last write is older than this are deleted. 0 = keep. */
  retentionMs: number;
  /** Hard disk bound: beyond it the oldest segments go even if unshipped. */
  maxBytes: number;
  onGap?: ((gap: GapInfo) => void) | undefined;
  readOnly: boolean;
}

const gapTotal = new Counter({
  name: 'agentrail_log_gap_total',
  help: 'Unshipped events deleted because the disk bound was reached (each loss gets a signed log.gap)',
  registers: [registry],
});

export abstract class RetainedLog extends LogReader {
  /** segment name → size in bytes (sealed and active), kept in memory for the writer. */
  protected sizes = new Map<string, number>();
  protected active: string | undefined;
  /** Newest segment known to hold a checkpoint: retention keeps it and everything after. */
  protected checkpointSegment: string | undefined;
  protected shedding = false;
  private lastShedCheck = 0;
  protected abstract readonly opts: RetentionOptions;

  /** The errno code while writes fail (the sensor is not ready and sheds at the source), else undefined. */
  abstract writeStalled(): string | undefined;

  protected totalBytes(): number {
    let t = 0;
    for (const v of this.sizes.values()) t += v;
    return t;
  }

  protected updateGauge(): void {
    localLogBytes.set(this.totalBytes());
  }

  /**
   * Wire the disk-bound gap writer after construction (the Sealer needs the log first):
   *   log.setGapWriter((g) => sealer.recordGap({ reason: 'disk-bound', lostEvents: g.lostEvents,
   *     fromSequence: Number(g.fromSequence), toSequence: Number(g.toSequence), detail: 'unshipped-deleted' }))
   */
  setGapWriter(fn: (gap: GapInfo) => void): void {
    this.opts.onGap = fn;
  }

  /** A reader's view (another process or thread writes): it knows no segment sizes, writes nothing. */
  isReadOnly(): boolean {
    return this.opts.readOnly;
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

  /**
   * True while the log is near its disk bound with unshipped data: the
   * pipeline then sheds raw events at the source (counting them) instead of
   * sealing more. Never blocks.
   */
  shouldShed(): boolean {
    if (this.writeStalled()) return true;
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

  protected deleteSegment(s: string): number {
    const size = this.sizes.get(s) ?? 0;
    try {
      unlinkSync(this.segPath(s));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    this.sizes.delete(s);
    return size;
  }
}
