/**
 * The seal stage (DESIGN.md §5, docs/integrity.md): RFC 8785 canonical bytes, sequence + prevhash
 * hash chain, RFC 6962 Merkle tree, C2SP signed checkpoints every N events or T ms, optional
 * per-event Ed25519 signatures. One Sealer per chain (= per CloudEvents source). Recovers its state
 * from the existing log on open, repairs a torn tail and records restarts and losses as events.
 */
import { AgentrailError, isAgentrailError } from '../errors.js';
import { EventTypes, makeEnvelope, type CloudEvent } from '../contracts/envelope.js';
import { countDrop, eventsEmitted, markCheckpoint } from '../observability/metrics.js';
import { canonicalBytes, canonicalBytesPrefixed, joinCanonicalParts, partsToJson, type CanonicalParts } from './canonical.js';
import { signBytes, type KeySet } from './keys.js';
import type { SealedEvent, SealedLogSink } from './log-interface.js';
import { leafHashPrefixed, MerkleFrontier, ZERO_HASH } from './merkle.js';
import { recoverChain, type GapInfo, type RecoveryReport } from './recovery.js';
import { formatHeadNote } from './signed-head.js';
import { putOwn } from '../contracts/own-property.js';

export type { GapInfo, GapReason, RecoveryReport } from './recovery.js';

export const SEALER_VERSION = '1';
/** Checkpoint note extension line: `agentrail-event <id> <time>` of the checkpoint event itself. */
export const CHECKPOINT_EXTENSION = 'agentrail-event';
/** Checkpoint note extension line: `agentrail-head <hex>`, the chain head the checkpoint covers. */
export const HEAD_EXTENSION = 'agentrail-head';

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
 * The event with `sequence` and `prevhash` set and any `eventsig` left out, keys kept in the order the
 * event has, the two chain fields at their sorted place: an envelope as makeEnvelope builds it stays
 * in canonical order, and the canonicalizer only checks its top level instead of rebuilding it.
 */
function withChainFields(ev: CloudEvent, sequence: string, prevhash: string): CloudEvent & { eventsig?: string } {
  const src = ev as unknown as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  let p = false;
  let s = false;
  for (const k of Object.keys(src)) {
    if (k === 'eventsig' || k === 'sequence' || k === 'prevhash') continue;
    if (!p && k > 'prevhash') (out.prevhash = prevhash), (p = true);
    if (!s && k > 'sequence') (out.sequence = sequence), (s = true);
    putOwn(out, k, src[k]);
  }
  if (!p) out.prevhash = prevhash;
  if (!s) out.sequence = sequence;
  return out as unknown as CloudEvent & { eventsig?: string };
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
  recovery: RecoveryReport = { lines: 0, lastSequence: 0, truncatedLines: 0, truncatedBytes: 0, cleanShutdown: true, signedHeadSequence: 0 };

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
    // From now on the sink stores a signed head after each write: a restart adopts nothing beyond it.
    o.sink.setHeadSigner?.(() => s.headNote());
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

  /** Rebuild the chain state from the existing lines (src/seal/recovery.ts). */
  private async recover(): Promise<GapInfo | undefined> {
    const r = await recoverChain({ sink: this.o.sink, source: this.source, origin: this.origin, keys: this.o.keys, ...(this.o.maxTruncateBytes !== undefined ? { maxTruncateBytes: this.o.maxTruncateBytes } : {}) });
    this.recovery = r.report;
    this.seq = r.seq;
    this.last = r.last;
    this.tree = r.tree;
    return r.gap;
  }

  /** A signed note over the chain as appended so far (src/seal/signed-head.ts); the sink stores it after each write. */
  headNote(): string {
    return formatHeadNote(this.origin, this.tree.size, this.tree.root(), this.last, this.o.keys.active());
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

  /**
   * Seal one event whose canonical members a shard worker already computed (src/shard/worker.ts):
   * the same chain step as seal(), without canonicalizing on this thread. The parts must come from
   * canonicalParts() of an event of this chain's source (the worker builds them with it).
   */
  sealParts(p: CanonicalParts): SealedEvent {
    if (this.closed) throw new AgentrailError('SEAL_CLOSED', 'sealer is closed');
    // Per-event signatures sign the canonical event with its chain fields: the object path does that.
    if (this.o.eventSignatures) return this.seal(JSON.parse(partsToJson(p)) as CloudEvent);
    const seq = this.seq + 1;
    const text = joinCanonicalParts(p, this.last.toString('hex'), String(seq));
    const prefixed = Buffer.allocUnsafe(1 + Buffer.byteLength(text, 'utf8'));
    prefixed.write(text, 1, 'utf8');
    const leaf = leafHashPrefixed(prefixed);
    const canonical = prefixed.subarray(1);
    let parsed: CloudEvent | undefined;
    const out: SealedEvent = {
      // Sinks write `canonical`; the object is built only if one asks for it.
      get event(): CloudEvent {
        return (parsed ??= JSON.parse(text) as CloudEvent);
      },
      canonical,
      sequence: seq,
      leafHash: leaf,
    };
    this.commit(out, leaf, p.type);
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
    const sealed = withChainFields(ev, String(this.seq + 1), this.last.toString('hex'));
    if (this.o.eventSignatures) {
      const key = this.o.keys.active();
      sealed.eventsig = Buffer.concat([key.keyIdBytes, signBytes(key, canonicalBytes(sealed))]).toString('base64');
    }
    const prefixed = canonicalBytesPrefixed(sealed);
    const leaf = leafHashPrefixed(prefixed);
    const canonical = prefixed.subarray(1);
    const out: SealedEvent = { event: sealed, canonical, sequence: this.seq + 1, leafHash: leaf };
    this.commit(out, leaf, sealed.type);
    return out;
  }

  private commit(out: SealedEvent, leaf: Buffer, type: string): void {
    this.o.sink.append(out);
    this.tree.append(leaf);
    this.seq++;
    this.last = leaf;
    this.sinceCheckpoint++;
    this.eventsThisRun++;
    eventsEmitted.inc({ type });
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
