/**
 * Restart recovery of a chain (docs/integrity.md §4): rebuild sequence, last leaf hash and Merkle
 * frontier from the existing lines, adopt only lines covered by a signature (a checkpoint in the log,
 * or the signed head the sink stored after its last write) and move everything else into the
 * quarantine, recorded by one signed log.gap. Never signs what it did not write, never deletes.
 */
import { AgentrailError } from '../errors.js';
import { EventTypes, type CloudEvent } from '../contracts/envelope.js';
import { countDrop } from '../observability/metrics.js';
import { childLogger } from '../observability/logger.js';
import { canonicalBytes } from './canonical.js';
import type { KeySet } from './keys.js';
import type { QuarantineInfo } from './quarantine.js';
import type { LogLine, SealedLogSink } from './log-interface.js';
import { leafHash, MerkleFrontier, ZERO_HASH } from './merkle.js';
import { checkHeadNote, type SignedHead } from './signed-head.js';

const log = childLogger('seal');
const ZERO_HEX = ZERO_HASH.toString('hex');
// In canonical JSON the top-level keys are sorted and no object-valued attribute follows `prevhash`,
// `sequence` or `type`, so the last occurrence of these markers is the top-level attribute (a `"`
// inside a string value is always escaped, so a value cannot fake a marker).
const PREV_MARK = Buffer.from('"prevhash":"');
const SEQ_MARK = Buffer.from('"sequence":"');
const CHECKPOINT_MARK = Buffer.from(`"type":"${EventTypes.logCheckpoint}"`);
const STOP_MARK = Buffer.from(`"type":"${EventTypes.sensorStop}"`);

/**
 * torn-tail: a crash cut the last line; invalid-tail: unsigned lines failed their checks;
 * quarantined: signed history failed its checks (tampering or corruption): `verify` keeps failing;
 * unproven-tail: complete lines no signature covers (after the last checkpoint and the signed head);
 * signed-lines-missing: the log ends before the chain head the previous run signed.
 */
export type GapReason = 'torn-tail' | 'invalid-tail' | 'quarantined' | 'unproven-tail' | 'signed-lines-missing' | 'unclean-stop' | 'write-error' | 'disk-bound' | 'dropped';

export interface GapInfo {
  reason: GapReason;
  lostLines?: number;
  lostBytes?: number;
  lostEvents?: number;
  fromSequence?: number;
  toSequence?: number;
  /** Fixed vocabulary only (a reason code), never captured content. */
  detail?: string;
  /** Where the removed bytes were kept, byte for byte. */
  quarantine?: QuarantineInfo;
  /** unclean-stop: time of the last line known durable (what a SIGKILL could not lose). */
  lastDurableTime?: string;
}

export interface RecoveryReport {
  /** Time of the last valid line (the last durable event). */
  lastTime?: string;
  /** Valid lines found. */
  lines: number;
  lastSequence: number;
  truncatedLines: number;
  truncatedBytes: number;
  /** Reason code of the first bad line, if any. */
  badReason?: string;
  cleanShutdown: boolean;
  /** Sequence up to which the signed head of the previous run vouched for the lines (0: none). */
  signedHeadSequence: number;
}

export interface RecoveredChain {
  seq: number;
  last: Buffer;
  tree: MerkleFrontier;
  gap?: GapInfo;
  report: RecoveryReport;
}

export interface RecoveryOptions {
  sink: SealedLogSink;
  source: string;
  origin: string;
  keys: KeySet;
  maxTruncateBytes?: number;
}

interface Checkpointish {
  type?: unknown;
  data?: { treesize?: unknown; root?: unknown; frontier?: unknown };
}

function readSeq(buf: Buffer): number {
  const i = buf.lastIndexOf(SEQ_MARK);
  if (i < 0) return 0;
  const start = i + SEQ_MARK.length;
  const end = buf.indexOf(0x22, start);
  const s = end < 0 ? '' : buf.toString('latin1', start, end);
  if (!/^[1-9][0-9]{0,15}$/.test(s)) return 0;
  const n = Number(s);
  return Number.isSafeInteger(n) ? n : 0;
}

function typeOf(buf: Buffer): unknown {
  try {
    return (JSON.parse(buf.toString('utf8')) as { type?: unknown }).type;
  } catch {
    return undefined;
  }
}

function readPrevhash(buf: Buffer): string | undefined {
  const i = buf.lastIndexOf(PREV_MARK);
  if (i < 0) return undefined;
  const start = i + PREV_MARK.length;
  if (buf[start + 64] !== 0x22) return undefined;
  const h = buf.toString('latin1', start, start + 64);
  return /^[0-9a-f]{64}$/.test(h) ? h : undefined;
}

/** JSON, RFC 8785 bytes, source, and (when given) sequence and prevhash of one line; a reason code on failure. */
export function fullCheck(buf: Buffer, source: string, seq: string | undefined, prevhash: string | undefined): string | CloudEvent {
  let ev: CloudEvent;
  try {
    ev = JSON.parse(buf.toString('utf8')) as CloudEvent;
  } catch {
    return 'NOT_JSON';
  }
  try {
    if (!ev || typeof ev !== 'object' || !canonicalBytes(ev).equals(buf)) return 'NOT_CANONICAL';
  } catch {
    return 'NOT_CANONICAL';
  }
  if (ev.source !== source) return 'SOURCE_MISMATCH';
  if (seq !== undefined && ev.sequence !== seq) return 'SEQUENCE';
  if (prevhash !== undefined && ev.prevhash !== prevhash) return 'PREVHASH_MISMATCH';
  return ev;
}

interface Bad {
  reason: string;
  lines: number;
  bytes: number;
  torn: boolean;
  /** The region holds signed history (a checkpoint, or lines the signed head vouched for). */
  signed?: boolean;
  /** Complete lines that passed every check but that no signature covers were cut. */
  unproven?: boolean;
  /** Highest sequence seen in the region (to tell whether the signed head covered part of it). */
  maxSeq: number;
}

/**
 * Every line gets the cheap checks that make the chain tamper-evident (terminated, sequence + 1,
 * prevhash = leaf of the previous line, checkpoint roots); the lines from the last checkpoint on,
 * which no checkpoint covers, also get the full checks (JSON, RFC 8785 bytes, source), and are
 * adopted only as far as the signed head covers them. A few µs per line on a large log.
 */
export async function recoverChain(o: RecoveryOptions): Promise<RecoveredChain> {
  let tree: MerkleFrontier | undefined;
  let lastSeq = 0;
  let last: Buffer = ZERO_HASH;
  let valid = 0;
  let bad: Bad | undefined;
  // Lines from the last checkpoint (inclusive) on, copied, with the state before the first of them.
  let tail: { bytes: Buffer; seq: number; leaf: Buffer }[] = [];
  let before = { seq: 0, last: ZERO_HASH as Buffer, tree: undefined as MerkleFrontier | undefined };
  let prevBuf: Buffer | undefined;
  let stopBeforeLastCheckpoint = false;
  let cutAt = -1;
  // The signed head stored after the previous run's last write: the lines it vouches for.
  const headText = o.sink.signedHead?.();
  const checked = headText === undefined ? 'NO_SIGNED_HEAD' : checkHeadNote(headText, o.keys, o.origin);
  const head: SignedHead | undefined = typeof checked === 'string' ? undefined : checked;
  const headProblem = typeof checked === 'string' ? checked : undefined;
  let headProven = 0;
  let headMismatch = false;
  let maxSeqSeen = 0;
  const iter: AsyncIterable<LogLine> | Iterable<LogLine> = o.sink.existingLines();
  for await (const line of iter) {
    const buf = Buffer.from(line.bytes.buffer, line.bytes.byteOffset, line.bytes.length);
    if (bad) {
      bad.lines++;
      bad.bytes += line.bytes.length + (line.terminated ? 1 : 0);
      bad.torn = false;
      bad.maxSeq = Math.max(bad.maxSeq, readSeq(buf));
      maxSeqSeen = Math.max(maxSeqSeen, bad.maxSeq);
      // A checkpoint after the bad line: the damage is inside signed history.
      if (buf.lastIndexOf(CHECKPOINT_MARK) >= 0) bad.signed = true;
      continue;
    }
    let seq = 0;
    let isCheckpoint = false;
    const why = ((): string | undefined => {
      if (!line.terminated) return 'TORN_LINE';
      if (valid === 0) {
        const full = fullCheck(buf, o.source, undefined, undefined);
        if (typeof full === 'string') return full;
      }
      seq = readSeq(buf);
      const prev = readPrevhash(buf);
      if (!seq || prev === undefined) return 'BAD_ENVELOPE';
      if (valid === 0) {
        if (seq === 1) {
          if (prev !== ZERO_HEX) return 'PREVHASH_MISMATCH';
          tree = new MerkleFrontier();
        }
      } else {
        if (seq !== lastSeq + 1) return 'SEQUENCE';
        if (prev !== last.toString('hex')) return 'PREVHASH_MISMATCH';
      }
      if (buf.lastIndexOf(CHECKPOINT_MARK) >= 0) {
        let ev: CloudEvent & Checkpointish;
        try {
          ev = JSON.parse(buf.toString('utf8')) as CloudEvent & Checkpointish;
        } catch {
          return 'NOT_JSON';
        }
        if (ev.type === EventTypes.logCheckpoint) {
          isCheckpoint = true;
          const d = ev.data ?? {};
          if (d.treesize !== String(seq - 1) || typeof d.root !== 'string' || !Array.isArray(d.frontier)) return 'BAD_CHECKPOINT';
          if (tree) {
            if (!tree.root().equals(Buffer.from(d.root, 'base64'))) return 'ROOT_MISMATCH';
          } else {
            const f = MerkleFrontier.restore(seq - 1, (d.frontier as string[]).map((h) => Buffer.from(String(h), 'hex')));
            if (!f.root().equals(Buffer.from(d.root, 'base64'))) return 'FRONTIER_MISMATCH';
            tree = f;
          }
        }
      }
      return undefined;
    })();
    if (why === 'SOURCE_MISMATCH' && valid === 0) {
      throw new AgentrailError('SEAL_SOURCE_CHANGED', `the log holds another chain than source ${o.source}`, {
        hint: 'keep the sensor source stable per log directory, or point this instance at its own log directory',
      });
    }
    if (why) {
      bad = { reason: why, lines: 1, bytes: line.bytes.length + (line.terminated ? 1 : 0), torn: !line.terminated, signed: buf.lastIndexOf(CHECKPOINT_MARK) >= 0, maxSeq: seq || readSeq(buf) };
      maxSeqSeen = Math.max(maxSeqSeen, bad.maxSeq);
      // A prevhash break means this line or the previous one was altered; neither is signed yet, so both go.
      if (why === 'PREVHASH_MISMATCH' && valid > 0) cutAt = tail.length - 1;
      continue;
    }
    if (isCheckpoint || valid === 0) {
      before = { seq: lastSeq, last, tree: tree ? MerkleFrontier.restore(tree.size, tree.frontier) : undefined };
      tail = [];
      stopBeforeLastCheckpoint = isCheckpoint && prevBuf !== undefined && prevBuf.lastIndexOf(STOP_MARK) >= 0 && typeOf(prevBuf) === EventTypes.sensorStop;
    }
    const leaf = leafHash(buf);
    tree?.append(leaf);
    if (head && seq === head.size) {
      // The head signs the tree of this size and this line's leaf: every line up to here is vouched for.
      if (leaf.toString('hex') === head.head && (!tree || tree.root().equals(head.root))) headProven = seq;
      else headMismatch = true;
    }
    tail.push({ bytes: Buffer.from(buf), seq, leaf });
    last = leaf;
    lastSeq = seq;
    maxSeqSeen = Math.max(maxSeqSeen, seq);
    prevBuf = buf;
    valid++;
  }
  const rollBackTo = (p: number): void => {
    valid -= tail.length - p;
    lastSeq = p > 0 ? tail[p - 1]!.seq : before.seq;
    last = p > 0 ? tail[p - 1]!.leaf : before.last;
    tree = before.tree ? MerkleFrontier.restore(before.tree.size, before.tree.frontier) : undefined;
    for (const x of tail.slice(0, p)) tree?.append(x.leaf);
    tail = tail.slice(0, p);
  };
  // Full checks of the tail; on a failure, roll the state back to the line before it.
  for (let p = 0; p < tail.length; p++) {
    const t = tail[p]!;
    const expectPrev = p > 0 ? tail[p - 1]!.leaf : before.last;
    // The very first line of the log links to nothing we can see (checked against zeros above if sequence 1).
    const isFirstLine = valid - tail.length + p === 0;
    const why = p === cutAt ? 'PREVHASH_MISMATCH' : fullCheck(t.bytes, o.source, String(t.seq), isFirstLine ? undefined : expectPrev.toString('hex'));
    if (typeof why !== 'string') continue;
    const cut = tail.slice(p);
    bad = {
      reason: why,
      lines: cut.length + (bad?.lines ?? 0),
      bytes: cut.reduce((n, x) => n + x.bytes.length + 1, 0) + (bad?.bytes ?? 0),
      torn: false,
      signed: bad?.signed ?? false,
      maxSeq: Math.max(bad?.maxSeq ?? 0, tail.at(-1)!.seq),
    };
    rollBackTo(p);
    break;
  }
  // Adopt only what a signature covers: the last checkpoint (tail[0]) and, after a crash, the lines
  // up to the signed head. The rest may have been appended by anyone while the sensor was not running.
  let covered = tail.length > 0 && tail[0]!.bytes.lastIndexOf(CHECKPOINT_MARK) >= 0 && typeOf(tail[0]!.bytes) === EventTypes.logCheckpoint ? 1 : 0;
  const headAt = headProven > 0 ? tail.findIndex((t) => t.seq === headProven) : -1;
  if (headAt + 1 > covered) covered = headAt + 1;
  let coverage: string | undefined;
  if (covered < tail.length) {
    const extra = tail.slice(covered);
    // A check failure found first stays the reason (a torn last line alone is no check failure: a
    // kill mid-write); otherwise say why the lines are not covered.
    if (!bad || (bad.torn && bad.lines === 1)) {
      coverage = headMismatch
        ? 'HEAD_MISMATCH'
        : stopBeforeLastCheckpoint && covered === 1
          ? 'AFTER_CLEAN_STOP'
          : (headProblem ?? (head && head.size > maxSeqSeen ? 'HEAD_AHEAD_OF_LOG' : 'AFTER_SIGNED_HEAD'));
    }
    bad = {
      reason: coverage ?? bad!.reason,
      lines: extra.length + (bad?.lines ?? 0),
      bytes: extra.reduce((n, x) => n + x.bytes.length + 1, 0) + (bad?.bytes ?? 0),
      torn: false,
      signed: bad?.signed ?? false,
      unproven: coverage !== undefined,
      maxSeq: Math.max(bad?.maxSeq ?? 0, extra.at(-1)!.seq),
    };
    rollBackTo(covered);
  }
  // Cut lines the signed head vouched for were altered (or partly lost) after being signed.
  if (bad && head && lastSeq < head.size && !(bad.torn && bad.lines === 1)) bad.signed = true;
  if (bad && headMismatch) bad.signed = true;
  const lastIsCheckpoint = tail.length === 1 && valid > 0 && tail[0]!.bytes.lastIndexOf(CHECKPOINT_MARK) >= 0;
  let lastTime: string | undefined;
  try {
    const lastLine = tail.at(-1)?.bytes;
    if (lastLine) lastTime = (JSON.parse(lastLine.toString('utf8')) as { time?: string }).time;
  } catch {
    /* the time is informative only */
  }
  const report: RecoveryReport = {
    ...(lastTime ? { lastTime } : {}),
    lines: valid,
    lastSequence: lastSeq,
    truncatedLines: 0,
    truncatedBytes: 0,
    cleanShutdown: valid === 0 || (!bad && lastIsCheckpoint && stopBeforeLastCheckpoint),
    signedHeadSequence: headProven,
  };
  let gap: GapInfo | undefined;
  if (bad) {
    const max = o.maxTruncateBytes ?? 1 << 20;
    if (bad.bytes > max) {
      throw new AgentrailError('SEAL_RECOVERY_CORRUPT', `the log tail after sequence ${lastSeq} is invalid (${bad.reason}, ${bad.bytes} bytes) and larger than seal.recovery.maxTruncateBytes`, {
        hint: 'run `agentrail verify` on the log directory and move the damaged log aside',
      });
    }
    const removed = await o.sink.truncateTail(bad.lines);
    report.truncatedLines = bad.lines;
    report.truncatedBytes = removed;
    report.badReason = bad.reason;
    report.cleanShutdown = false;
    const reason: GapReason = bad.signed ? 'quarantined' : bad.torn && bad.lines === 1 ? 'torn-tail' : bad.unproven ? 'unproven-tail' : 'invalid-tail';
    countDrop('seal', reason.replace('-', '_'), bad.lines);
    const q = o.sink.lastQuarantine?.();
    gap = { reason, lostLines: bad.lines, lostBytes: removed, detail: coverage ?? bad.reason, ...(q ? { quarantine: q } : {}) };
    // After a crash the set-aside lines may include the sensor's own last writes: say what is durable.
    if (reason === 'unproven-tail' && !stopBeforeLastCheckpoint && lastTime) gap.lastDurableTime = lastTime;
    if (reason !== 'torn-tail') log.warn({ reason, lines: bad.lines, bytes: removed, quarantine: q?.file, check: gap.detail }, 'recovery moved lines it cannot vouch for into the quarantine; verify will report them');
    if (lastSeq > 0) gap.fromSequence = lastSeq + 1;
  } else if (head && head.size > lastSeq) {
    // The log ends before the lines the previous run signed as written: they were removed (or a power
    // loss kept the head but not the data). Nothing to quarantine, but never a silent restart.
    countDrop('seal', 'signed_lines_missing', head.size - lastSeq);
    report.cleanShutdown = false;
    gap = { reason: 'signed-lines-missing', lostEvents: head.size - lastSeq, fromSequence: lastSeq + 1, toSequence: head.size, detail: 'HEAD_AHEAD_OF_LOG' };
    log.warn({ fromSequence: lastSeq + 1, toSequence: head.size }, 'the log ends before the chain head the previous run signed; verify will report it');
  }
  if (lastSeq > 0 && !tree) {
    throw new AgentrailError('SEAL_RECOVERY_UNANCHORED', 'the log does not start at sequence 1 and holds no checkpoint to continue the Merkle tree from', {
      hint: 'retention must keep the newest segment that contains a checkpoint',
    });
  }
  return { seq: lastSeq, last, tree: tree ?? new MerkleFrontier(), ...(gap ? { gap } : {}), report };
}
