/**
 * The files of the local log (docs/integrity.md §2, docs/delivery.md): `<dir>/segments/<first
 * sequence, 20 digits>.jsonl`, one canonical sealed CloudEvent per line. Naming, ordering and a
 * chunked line reader shared by the writer, the readers, recovery and retention.
 */
import { closeSync, openSync, readdirSync, readSync } from 'node:fs';
import { join } from 'node:path';

export const CHECKPOINT_TYPE = 'dev.agentrail.log.checkpoint';
export const CHECKPOINT_MARK = `"type":"${CHECKPOINT_TYPE}"`;
export const GAP_TYPE = 'dev.agentrail.log.gap';
export const GAP_MARK = `"type":"${GAP_TYPE}"`;

const SEG_RE = /^(\d{20})\.jsonl$/;

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

export function segmentName(firstSequence: bigint | number): string {
  return String(firstSequence).padStart(20, '0');
}

export function comparePos(a: LogPosition, b: LogPosition): number {
  if (a.segment !== b.segment) return a.segment < b.segment ? -1 : 1;
  return a.offset - b.offset;
}

export function segmentPath(segmentsDir: string, seg: string): string {
  return join(segmentsDir, `${seg}.jsonl`);
}

/** Segment names (20 digits) in order; none when the directory does not exist. */
export function listSegments(segmentsDir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(segmentsDir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  return names
    .map((n) => SEG_RE.exec(n)?.[1])
    .filter((n): n is string => !!n)
    .sort();
}

/** Pull `sequence` out of a sealed line without trusting nested keys. */
export function sequenceOf(line: string): string | undefined {
  try {
    const v = (JSON.parse(line) as { sequence?: unknown }).sequence;
    return typeof v === 'string' && /^\d+$/.test(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

/** Read complete lines of one file from `offset`, in chunks. */
export function* readLines(path: string, offset: number, segment: string): Generator<LogEntry> {
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
