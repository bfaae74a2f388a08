/**
 * Reopening the local log for writing after a stop or a crash, and the SealedLogSink side of
 * recovery (src/seal/recovery.ts decides, this module does the file work): the existing lines for
 * the sealer to check, and cutting a tail it cannot vouch for into the quarantine, never deleting it.
 */
import { closeSync, fstatSync, fsyncSync, ftruncateSync, openSync, readSync, statSync, unlinkSync } from 'node:fs';
import { Quarantine, type QuarantineInfo } from '../seal/quarantine.js';
import type { LogLine } from '../seal/log-interface.js';
import { CHECKPOINT_MARK, CHECKPOINT_TYPE, listSegments, readLines, segmentPath, sequenceOf } from './log-segments.js';

export interface ReopenState {
  /** Size of every segment. */
  sizes: Map<string, number>;
  /** The last segment, to append to. */
  last?: string;
  /** Bytes of an unterminated last line (repaired by the sealer's truncateTail or the first append). */
  tornBytes: number;
  /** Sequence of the last complete line, so a new segment gets a sensible name. */
  lastSequence?: bigint;
  /** Newest segment holding a checkpoint (retention keeps it and what follows). */
  checkpointSegment?: string;
}

/** Inspect the segments before appending: sizes, the torn bytes of the last one, where the last checkpoint is. */
export function inspectForAppend(segmentsDir: string): ReopenState {
  const segs = listSegments(segmentsDir);
  const state: ReopenState = { sizes: new Map(), tornBytes: 0 };
  for (const s of segs) state.sizes.set(s, statSync(segmentPath(segmentsDir, s)).size);
  const last = segs.at(-1);
  if (!last) return state;
  state.last = last;
  const path = segmentPath(segmentsDir, last);
  const fd = openSync(path, 'r');
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
  closeSync(fd);
  state.tornBytes = size - keep;
  state.sizes.set(last, size);
  let lastLine: string | undefined;
  for (const e of readLines(path, Math.max(0, keep - 1024 * 1024), last)) lastLine = e.line;
  const seq = lastLine ? sequenceOf(lastLine) : undefined;
  if (seq) state.lastSequence = BigInt(seq);
  for (let k = segs.length - 1; k >= 0 && !state.checkpointSegment; k--) {
    for (const e of readLines(segmentPath(segmentsDir, segs[k]!), 0, segs[k]!)) {
      if (e.line.includes(CHECKPOINT_MARK) && (JSON.parse(e.line) as { type?: string }).type === CHECKPOINT_TYPE) {
        state.checkpointSegment = segs[k]!;
        break;
      }
    }
  }
  return state;
}

/** Every existing line, oldest first; an unterminated last line is marked. */
export function* existingLines(segmentsDir: string): Generator<LogLine> {
  const segs = listSegments(segmentsDir);
  for (let k = 0; k < segs.length; k++) {
    const s = segs[k]!;
    const path = segmentPath(segmentsDir, s);
    let end = 0;
    for (const e of readLines(path, 0, s)) {
      yield { bytes: Buffer.from(e.line, 'utf8'), terminated: true };
      end = e.next.offset;
    }
    if (k === segs.length - 1) {
      const size = statSync(path).size;
      if (size > end) {
        const fd = openSync(path, 'r');
        const b = Buffer.alloc(size - end);
        readSync(fd, b, 0, b.length, end);
        closeSync(fd);
        yield { bytes: b, terminated: false };
      }
    }
  }
}

export interface CutResult {
  removed: number;
  quarantine?: QuarantineInfo;
  /** New size of each segment touched; undefined = the segment was deleted. */
  changed: Map<string, number | undefined>;
}

/**
 * Move the last `lines` lines (an unterminated last line counts as one) into the quarantine of
 * `logDir`, byte for byte and fsynced, then cut them from the segments. The writer's own file
 * descriptor on the last segment must be closed first.
 */
export function cutTail(logDir: string, segmentsDir: string, lines: number): CutResult {
  let removed = 0;
  let left = lines;
  const q = new Quarantine(logDir);
  const changed = new Map<string, number | undefined>();
  while (left > 0) {
    const segs = listSegments(segmentsDir);
    const s = segs.at(-1);
    if (!s) break;
    const path = segmentPath(segmentsDir, s);
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
    if (keep === 0 && segs.length > 1) {
      unlinkSync(path);
      changed.set(s, undefined);
    } else {
      const fd = openSync(path, 'r+');
      ftruncateSync(fd, keep);
      fsyncSync(fd);
      closeSync(fd);
      changed.set(s, keep);
      if (cut === 0 || keep === 0) break;
    }
  }
  const quarantine = q.commit();
  return { removed, changed, ...(quarantine ? { quarantine } : {}) };
}
