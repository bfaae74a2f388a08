/**
 * The seal stage (DESIGN.md §5, docs/integrity.md): RFC 8785 canonical bytes, sequence + prevhash
 * hash chain, RFC 6962 Merkle tree, C2SP signed checkpoints every N events or T ms, optional
 * per-event Ed25519 signatures. One Sealer per chain (= per CloudEvents source). Recovers its state
 * from the existing log on open, repairs a torn tail and records restarts and losses as events.
 */
import { AgentrailError, isAgentrailError } from '../errors.js';
import { EventTypes, makeEnvelope, type CloudEvent } from '../contracts/envelope.js';
import { countDrop, eventsEmitted, markCheckpoint } from '../observability/metrics.js';
import { childLogger } from '../observability/logger.js';

const log = childLogger('seal');
import { canonicalBytes, canonicalBytesPrefixed } from './canonical.js';
import { signBytes, type KeySet } from './keys.js';
import type { QuarantineInfo } from './quarantine.js';
import type { LogLine, SealedEvent, SealedLogSink } from './log-interface.js';
import { leafHash, leafHashPrefixed, MerkleFrontier, ZERO_HASH } from './merkle.js';

export const SEALER_VERSION = '1';
/** Checkpoint note extension line: `agentrail-event <id> <time>` of the checkpoint event itself. */
export const CHECKPOINT_EXTENSION = 'agentrail-event';
/** Checkpoint note extension line: `agentrail-head <hex>`, the chain head the checkpoint covers. */
export const HEAD_EXTENSION = 'agentrail-head';
const ZERO_HEX = ZERO_HASH.toString('hex');
// In canonical JSON the top-level keys are sorted and no object-valued attribute follows `prevhash`,
// `sequence` or `type`, so the last occurrence of these markers is the top-level attribute (a `"`
// inside a string value is always escaped, so a value cannot fake a marker).
const PREV_MARK = Buffer.from('"prevhash":"');
const SEQ_MARK = Buffer.from('"sequence":"');
const CHECKPOINT_MARK = Buffer.from(`"type":"${EventTypes.logCheckpoint}"`);
const STOP_MARK = Buffer.from(`"type":"${EventTypes.sensorStop}"`);

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

export interface SealerOptions {
  sink: SealedLogSink;
  /** CloudEvents source of this chain (the sensor instance). */
  source: string;
  /** Checkpoint origin line; default `source`. */
  origin?: string;
  keys: KeySet;
  checkpointEvents?: number;
  checkpointIntervalMs?: number;
  eventSignatures?: boolean;
  maxTruncateBytes?: number;
  /** Extra fields for the sensor.start record (e.g. node name, sensor version). */
  startInfo?: Record<string, unknown>;
}

/**
 * torn-tail: a crash cut the last line; invalid-tail: unsigned lines failed their checks;
 * quarantined: signed history failed its checks (tampering or corruption): `verify` keeps failing;
 * unproven-tail: lines after a clean stop's final checkpoint, which this sensor did not write.
 */
export type GapReason = 'torn-tail' | 'invalid-tail' | 'quarantined' | 'unproven-tail' | 'unclean-stop' | 'write-error' | 'disk-bound' | 'dropped';

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
}

interface Checkpointish {
  type?: unknown;
  data?: { treesize?: unknown; root?: unknown; frontier?: unknown };
}

export class Sealer {
  private seq = 0;
  private last: Buffer = ZERO_HASH;
  private tree = new MerkleFrontier();
  private sinceCheckpoint = 0;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private eventsThisRun = 0;
  readonly origin: string;
  readonly source: string;
  recovery: RecoveryReport = { lines: 0, lastSequence: 0, truncatedLines: 0, truncatedBytes: 0, cleanShutdown: true };

  private constructor(private readonly o: SealerOptions) {
    if (!o.source || /[\n]/.test(o.source)) throw new AgentrailError('CONFIG_SEAL_SOURCE', 'event source must be a non-empty single line');
    this.source = o.source;
    this.origin = o.origin ?? o.source;
    if (/[\s]/.test(this.origin)) throw new AgentrailError('CONFIG_SEAL_ORIGIN', 'checkpoint origin must not contain whitespace', { hint: 'set seal.origin' });
  }

  /** Open a chain: recover from the sink's existing lines, then write gap/start records and a checkpoint. */
  static async open(o: SealerOptions): Promise<Sealer> {
    const s = new Sealer(o);
    o.keys.active(); // fail early, with a hint, when no key is usable
    const gap = await s.recover();
    const previous = s.seq;
    const previousLeaf = s.last.toString('hex');
    if (gap) s.recordGap(gap);
    else if (previous > 0 && !s.recovery.cleanShutdown) {
      // The previous run ended without sensor.stop (SIGKILL, OOM, power loss): what it held in memory
      // and had not written is gone. Say so, with the last sequence and time known to be durable.
      countDrop('seal', 'unclean_stop');
      s.recordGap({ reason: 'unclean-stop', fromSequence: previous + 1, detail: 'NO_SENSOR_STOP', ...(s.recovery.lastTime ? { lastDurableTime: s.recovery.lastTime } : {}) });
    }
    s.append(
      makeEnvelope({
        type: EventTypes.sensorStart,
        source: s.source,
        data: {
          ...(o.startInfo ?? {}),
          reason: previous === 0 && !gap ? 'initial' : s.recovery.cleanShutdown && !gap ? 'restart' : 'crash-recovery',
          ...(previous > 0 ? { previousSequence: String(previous), previousLeafhash: previousLeaf } : {}),
          keyName: o.keys.active().name,
          keyId: o.keys.active().keyId,
          checkpointEvents: s.checkpointEvents,
          checkpointIntervalMs: s.checkpointIntervalMs,
          eventSignatures: !!o.eventSignatures,
          version: SEALER_VERSION,
        },
      }),
    );
    s.checkpoint();
    s.timer = setInterval(() => {
      if (s.sinceCheckpoint > 0) s.checkpoint();
    }, s.checkpointIntervalMs);
    s.timer.unref();
    return s;
  }

  get checkpointEvents(): number {
    return this.o.checkpointEvents ?? 1000;
  }
  get checkpointIntervalMs(): number {
    return this.o.checkpointIntervalMs ?? 10_000;
  }
  get sequence(): number {
    return this.seq;
  }
  get treeSize(): number {
    return this.tree.size;
  }

  /**
   * Rebuild the chain state from the existing lines. Every line gets the cheap checks that make the
   * chain tamper-evident (terminated, sequence + 1, prevhash = leaf of the previous line, checkpoint
   * roots); the lines from the last checkpoint on, which no signature covers yet, also get the full
   * checks (JSON, RFC 8785 bytes, source). This keeps a restart on a large log at a few µs per line.
   */
  private async recover(): Promise<GapInfo | undefined> {
    let tree: MerkleFrontier | undefined;
    let lastSeq = 0;
    let last: Buffer = ZERO_HASH;
    let valid = 0;
    let bad: { reason: string; lines: number; bytes: number; torn: boolean; signed?: boolean } | undefined;
    // Lines from the last checkpoint (inclusive) on, copied, with the state before the first of them.
    let tail: { bytes: Buffer; seq: number; leaf: Buffer }[] = [];
    let before = { seq: 0, last: ZERO_HASH as Buffer, tree: undefined as MerkleFrontier | undefined };
    let prevBuf: Buffer | undefined;
    let stopBeforeLastCheckpoint = false;
    let cutAt = -1;
    const iter: AsyncIterable<LogLine> | Iterable<LogLine> = this.o.sink.existingLines();
    for await (const line of iter) {
      if (bad) {
        bad.lines++;
        bad.bytes += line.bytes.length + (line.terminated ? 1 : 0);
        bad.torn = false;
        // A checkpoint after the bad line: the damage is inside signed history.
        if (Buffer.from(line.bytes.buffer, line.bytes.byteOffset, line.bytes.length).lastIndexOf(CHECKPOINT_MARK) >= 0) bad.signed = true;
        continue;
      }
      const buf = Buffer.from(line.bytes.buffer, line.bytes.byteOffset, line.bytes.length);
      let seq = 0;
      let isCheckpoint = false;
      const why = ((): string | undefined => {
        if (!line.terminated) return 'TORN_LINE';
        if (valid === 0) {
          const full = this.fullCheck(buf, undefined, undefined);
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
        throw new AgentrailError('SEAL_SOURCE_CHANGED', `the log holds another chain than source ${this.source}`, {
          hint: 'keep the sensor source stable per log directory, or point this instance at its own log directory',
        });
      }
      if (why) {
        bad = { reason: why, lines: 1, bytes: line.bytes.length + (line.terminated ? 1 : 0), torn: !line.terminated, signed: buf.lastIndexOf(CHECKPOINT_MARK) >= 0 };
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
      tail.push({ bytes: Buffer.from(buf), seq, leaf });
      last = leaf;
      lastSeq = seq;
      prevBuf = buf;
      valid++;
    }
    // Full checks of the unsigned tail; on a failure, roll the state back to the line before it.
    for (let p = 0; p < tail.length; p++) {
      const t = tail[p]!;
      const expectPrev = p > 0 ? tail[p - 1]!.leaf : before.last;
      // The very first line of the log links to nothing we can see (checked against zeros above if sequence 1).
      const isFirstLine = valid - tail.length + p === 0;
      const why = p === cutAt ? 'PREVHASH_MISMATCH' : this.fullCheck(t.bytes, String(t.seq), isFirstLine ? undefined : expectPrev.toString('hex'));
      if (typeof why !== 'string') continue;
      const cut = tail.slice(p);
      const cutBytes = cut.reduce((n, x) => n + x.bytes.length + 1, 0);
      bad = { reason: why, lines: cut.length + (bad?.lines ?? 0), bytes: cutBytes + (bad?.bytes ?? 0), torn: false, signed: bad?.signed ?? false };
      valid -= cut.length;
      lastSeq = p > 0 ? tail[p - 1]!.seq : before.seq;
      last = p > 0 ? tail[p - 1]!.leaf : before.last;
      tree = before.tree ? MerkleFrontier.restore(before.tree.size, before.tree.frontier) : undefined;
      for (const x of tail.slice(0, p)) tree?.append(x.leaf);
      break;
    }
    // Lines after a clean stop's final checkpoint were not written by this sensor (it stopped):
    // never adopt and sign them; quarantine them (laundering by restart).
    if (!bad && stopBeforeLastCheckpoint && tail.length > 1) {
      const extra = tail.slice(1);
      bad = { reason: 'AFTER_CLEAN_STOP', lines: extra.length, bytes: extra.reduce((n, x) => n + x.bytes.length + 1, 0), torn: false };
      valid -= extra.length;
      lastSeq = tail[0]!.seq;
      last = tail[0]!.leaf;
      tree = before.tree ? MerkleFrontier.restore(before.tree.size, before.tree.frontier) : undefined;
      tree?.append(tail[0]!.leaf);
      tail = tail.slice(0, 1);
    }
    const lastIsCheckpoint = tail.length === 1 && valid > 0 && tail[0]!.bytes.lastIndexOf(CHECKPOINT_MARK) >= 0;
    let lastTime: string | undefined;
    try {
      const lastLine = tail.at(-1)?.bytes;
      if (lastLine) lastTime = (JSON.parse(lastLine.toString('utf8')) as { time?: string }).time;
    } catch {
      /* the time is informative only */
    }
    this.recovery = {
      ...(lastTime ? { lastTime } : {}),
      lines: valid,
      lastSequence: lastSeq,
      truncatedLines: 0,
      truncatedBytes: 0,
      cleanShutdown: valid === 0 || (!bad && lastIsCheckpoint && stopBeforeLastCheckpoint),
    };
    let gap: GapInfo | undefined;
    if (bad) {
      const max = this.o.maxTruncateBytes ?? 1 << 20;
      if (bad.bytes > max) {
        throw new AgentrailError('SEAL_RECOVERY_CORRUPT', `the log tail after sequence ${lastSeq} is invalid (${bad.reason}, ${bad.bytes} bytes) and larger than seal.recovery.maxTruncateBytes`, {
          hint: 'run `agentrail verify` on the log directory and move the damaged log aside',
        });
      }
      const removed = await this.o.sink.truncateTail(bad.lines);
      this.recovery.truncatedLines = bad.lines;
      this.recovery.truncatedBytes = removed;
      this.recovery.badReason = bad.reason;
      this.recovery.cleanShutdown = false;
      const reason: GapReason = bad.torn && bad.lines === 1 ? 'torn-tail' : bad.signed ? 'quarantined' : bad.reason === 'AFTER_CLEAN_STOP' ? 'unproven-tail' : 'invalid-tail';
      countDrop('seal', reason.replace('-', '_'), bad.lines);
      const q = this.o.sink.lastQuarantine?.();
      gap = {
        reason,
        lostLines: bad.lines,
        lostBytes: removed,
        detail: bad.reason,
        ...(q ? { quarantine: q } : {}),
      };
      if (reason !== 'torn-tail') log.warn({ reason, lines: bad.lines, bytes: removed, quarantine: q?.file, check: bad.reason }, 'recovery moved lines it cannot vouch for into the quarantine; verify will report them');
      if (lastSeq > 0) gap.fromSequence = lastSeq + 1;
    }
    if (lastSeq > 0 && !tree) {
      throw new AgentrailError('SEAL_RECOVERY_UNANCHORED', 'the log does not start at sequence 1 and holds no checkpoint to continue the Merkle tree from', {
        hint: 'retention must keep the newest segment that contains a checkpoint',
      });
    }
    this.seq = lastSeq;
    this.last = last;
    this.tree = tree ?? new MerkleFrontier();
    return gap;
  }

  /** JSON, RFC 8785 bytes, source, and (when given) sequence and prevhash of one line; a reason code on failure. */
  private fullCheck(buf: Buffer, seq: string | undefined, prevhash: string | undefined): string | CloudEvent {
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
    if (ev.source !== this.source) return 'SOURCE_MISMATCH';
    if (seq !== undefined && ev.sequence !== seq) return 'SEQUENCE';
    if (prevhash !== undefined && ev.prevhash !== prevhash) return 'PREVHASH_MISMATCH';
    return ev;
  }

  /** Seal one event (adds sequence/prevhash[/eventsig]) and append it to the sink. Synchronous. */
  seal(ev: CloudEvent): SealedEvent {
    if (this.closed) throw new AgentrailError('SEAL_CLOSED', 'sealer is closed');
    if (ev.source !== this.source) throw new AgentrailError('SEAL_SOURCE_MISMATCH', 'event source differs from the chain source');
    let out: SealedEvent;
    try {
      out = this.append(ev);
    } catch (e) {
      // An event that is not JSON (BigInt, lone surrogate, NaN…) is a bad record, not a crash: it is
      // counted and leaves a signed trace instead of a silent hole. Nothing was appended.
      if (!isAgentrailError(e) || e.code !== 'SEAL_NOT_JSON') throw e;
      countDrop('seal', 'not_json');
      out = this.recordGap({ reason: 'dropped', lostEvents: 1, detail: 'NOT_JSON' });
    }
    if (this.sinceCheckpoint >= this.checkpointEvents) this.checkpoint();
    return out;
  }

  /** Record a lost range (e.g. events dropped at the disk bound) as a log.gap event. */
  recordGap(g: GapInfo): SealedEvent {
    const data: Record<string, unknown> = { reason: g.reason };
    if (g.lostLines !== undefined) data.lostLines = g.lostLines;
    if (g.lostBytes !== undefined) data.lostBytes = String(g.lostBytes);
    if (g.lostEvents !== undefined) data.lostEvents = g.lostEvents;
    if (g.fromSequence !== undefined) data.fromSequence = String(g.fromSequence);
    if (g.toSequence !== undefined) data.toSequence = String(g.toSequence);
    if (g.detail !== undefined) data.detail = g.detail;
    if (g.lastDurableTime !== undefined) data.lastDurableTime = g.lastDurableTime;
    if (g.quarantine) {
      data.quarantineFile = g.quarantine.file;
      data.quarantineBytes = String(g.quarantine.bytes);
      data.quarantineSha256 = g.quarantine.sha256;
    }
    return this.append(makeEnvelope({ type: EventTypes.logGap, source: this.source, data }));
  }

  private append(ev: CloudEvent): SealedEvent {
    let base = ev as CloudEvent & { eventsig?: string };
    if ('eventsig' in base) {
      const { eventsig: _drop, ...rest } = base;
      base = rest;
    }
    const sealed = { ...base, sequence: String(this.seq + 1), prevhash: this.last.toString('hex') } as CloudEvent & { eventsig?: string };
    if (this.o.eventSignatures) {
      const key = this.o.keys.active();
      sealed.eventsig = Buffer.concat([key.keyIdBytes, signBytes(key, canonicalBytes(sealed))]).toString('base64');
    }
    const prefixed = canonicalBytesPrefixed(sealed);
    const leaf = leafHashPrefixed(prefixed);
    const canonical = prefixed.subarray(1);
    const out: SealedEvent = { event: sealed, canonical, sequence: this.seq + 1, leafHash: leaf };
    this.o.sink.append(out);
    this.tree.append(leaf);
    this.seq++;
    this.last = leaf;
    this.sinceCheckpoint++;
    this.eventsThisRun++;
    eventsEmitted.inc({ type: sealed.type });
    return out;
  }

  /** Write a signed checkpoint over every event so far. */
  checkpoint(): SealedEvent {
    const key = this.o.keys.active();
    const size = this.tree.size;
    const root = this.tree.root();
    const ev = makeEnvelope({ type: EventTypes.logCheckpoint, source: this.source, data: {} as Record<string, unknown> });
    // The extension lines bind the checkpoint event's own id and time, and the chain head (the leaf
    // hash of the last event covered, which is this event's prevhash), to the signature: so even the
    // last checkpoint of a log has no unsigned attribute, and every event before it is bound through
    // the prevhash chain even when the log's oldest segments are gone.
    const body = `${this.origin}\n${size}\n${root.toString('base64')}\n${CHECKPOINT_EXTENSION} ${ev.id} ${ev.time}\n${HEAD_EXTENSION} ${this.last.toString('hex')}\n`;
    const sig = Buffer.concat([key.keyIdBytes, signBytes(key, Buffer.from(body, 'utf8'))]).toString('base64');
    ev.data = {
      origin: this.origin,
      treesize: String(size),
      root: root.toString('base64'),
      frontier: this.tree.frontier.map((h) => h.toString('hex')),
      note: `${body}\n\u2014 ${key.name} ${sig}\n`,
    };
    const out = this.append(ev);
    this.sinceCheckpoint = 0;
    markCheckpoint();
    return out;
  }

  async flush(): Promise<void> {
    await this.o.sink.flush();
  }

  /** Clean shutdown: sensor.stop, a final checkpoint, flush and close the sink. */
  async close(reason = 'shutdown'): Promise<void> {
    if (this.closed) return;
    if (this.timer) clearInterval(this.timer);
    this.append(makeEnvelope({ type: EventTypes.sensorStop, source: this.source, data: { reason, eventsThisRun: this.eventsThisRun } }));
    this.checkpoint();
    this.closed = true;
    await this.o.sink.close();
  }
}
