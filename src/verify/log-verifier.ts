/**
 * Streaming verifier of a sealed chain (docs/integrity.md). Takes any (async) iterable of lines, so a
 * directory reader (node-reader.ts), a file export, a browser upload or a Kafka consumer (helper D)
 * can feed it. Stops at the first failure and reports its index and reason code.
 */
import { bytesToHex, equalBytes, fromBase64, parseHex, toBase64, utf8Decode, utf8ToBytes } from './bytes.js';
import { jcs } from './jcs.js';
import { CompactTree, frontierLength, leafHash, rootFromFrontier } from './merkle.js';
import { parseCheckpointText, parseNote, verifyBlob, verifyNote, type VerifierKey } from './note.js';
import { failure, type Failure } from './reasons.js';

export const CHECKPOINT_TYPE = 'dev.agentrail.log.checkpoint';
export const ZERO_HASH_HEX = '0'.repeat(64);
export const CHECKPOINT_EXTENSION = 'agentrail-event';
/** Note extension `agentrail-head <hex>`: the leaf hash of the last event the checkpoint covers (= its prevhash). */
export const HEAD_EXTENSION = 'agentrail-head';
export const CHECKPOINT_SCHEMA = 'https://agentrail.dev/schemas/v1/log.checkpoint.json';

/**
 * One record of the log: a line without its '\n' (bytes or string, counted as terminated), a line
 * with its torn flag, or an already parsed event (e.g. rebuilt from a Kafka binary-mode record: its
 * canonical bytes are recomputed, so only the byte-level NOT_CANONICAL check is skipped).
 */
export type LineInput = Uint8Array | string | { bytes: Uint8Array; terminated: boolean } | { event: Record<string, unknown> };

export interface VerifyOptions {
  keys: readonly VerifierKey[];
  /** Expected checkpoint origin (default: the origin of the first checkpoint, then fixed). */
  origin?: string;
  /** A live log legitimately ends with events not yet covered by a checkpoint. */
  allowUnsignedTail?: boolean;
  /**
   * Accept a log whose first surviving event is after sequence 1 (retention removed the oldest
   * segments) without a trusted checkpoint binding its start. Off by default: such a start is
   * indistinguishable from deleted evidence, so the report says `startBound: 'unverified'`.
   */
  allowTruncatedStart?: boolean;
  /** External signed checkpoints (e.g. from the Kafka checkpoint topic) the log must contain. */
  witnesses?: readonly string[];
  /**
   * The signed chain head the sensor stores after every write (`<log-dir>/head.note`): the events up
   * to it are covered by a signature, so only lines after it count as the unsigned tail.
   */
  signedHead?: string;
  /** Keep every leaf hash and event in memory (for `prove` / `consistency`). */
  keepLeaves?: boolean;
  /** Check chain, canonical form and Merkle roots but not signatures (used by `prove` without --keys). */
  skipSignatures?: boolean;
  onProgress?: (lines: number, bytes: number) => void;
  progressEvery?: number;
}

export interface CheckpointInfo {
  index: number;
  sequence: string;
  treeSize: number;
  root: string;
  note: string;
  keyName: string;
  event: Record<string, unknown>;
}

export interface VerifyReport {
  ok: boolean;
  lines: number;
  bytes: number;
  checkpoints: number;
  startSequence?: string;
  lastSequence?: string;
  /** Sequence of the first checkpoint from which the Merkle tree is verified (1 when the log is complete). */
  anchoredFrom?: string;
  /** What vouches for the first event: the genesis (sequence 1), a trusted external checkpoint, or nothing (--allow-truncated-start). */
  startBound?: 'genesis' | 'trusted-checkpoint' | 'unverified';
  lastCheckpoint?: Omit<CheckpointInfo, 'event' | 'note'>;
  unsignedTail: number;
  /** Sequence of the last event covered by the signed head (`signedHead` option), when it matched. */
  signedHeadSequence?: string;
  failure?: Failure;
  warnings: string[];
  leaves?: Uint8Array[];
  /** With keepLeaves: event ids → line index. */
  ids?: Map<string, number>;
  checkpointList?: CheckpointInfo[];
  /** Signed log.gap records of recoveries that set lines aside: where the bytes are kept. */
  quarantines?: Array<{ index: number; sequence: string; reason: string; file?: string; bytes?: string; sha256?: string }>;
}

/** Gap reasons that mean lines were set aside that the sensor cannot vouch for: never a clean verify. */
const QUARANTINE_REASONS = new Set(['quarantined', 'unproven-tail', 'invalid-tail', 'signed-lines-missing']);

const SEQ_RE = /^[1-9][0-9]*$/;

function toLine(x: LineInput): { bytes: Uint8Array; terminated: boolean } {
  if (typeof x === 'string') return { bytes: utf8ToBytes(x), terminated: true };
  if (x instanceof Uint8Array) return { bytes: x, terminated: true };
  if ('event' in x) {
    let s: string;
    try {
      s = jcs(x.event);
    } catch {
      s = '\u0000not canonicalizable';
    }
    return { bytes: utf8ToBytes(s), terminated: true };
  }
  return x;
}

export async function verifyLog(lines: AsyncIterable<LineInput> | Iterable<LineInput>, opts: VerifyOptions): Promise<VerifyReport> {
  const report: VerifyReport = { ok: false, lines: 0, bytes: 0, checkpoints: 0, unsignedTail: 0, warnings: [] };
  if (opts.keepLeaves) {
    report.leaves = [];
    report.ids = new Map();
    report.checkpointList = [];
  }
  let origin = opts.origin;
  let source: string | undefined;
  let lastSeq = 0;
  let lastLeaf: Uint8Array | undefined;
  let tree: CompactTree | undefined;
  let firstUnsigned = -1;
  let anchorSize = 0;
  const witnesses = new Map<number, { root: Uint8Array; note: string; head?: string }>();
  // Events before the first checkpoint of a log that starts after sequence 1: no tree covers them;
  // they are bound only through the prevhash chain to a checkpoint that signs the chain head.
  let unanchoredPrefix = 0;
  // A trusted checkpoint whose head lies inside the log: the leaf of event `size` must equal `head`.
  let startAnchor: { size: number; head: string } | undefined;
  for (const w of opts.witnesses ?? []) {
    const v = verifyNote(w, opts.keys);
    if (!v.ok) return fail(failure(-1, v.reason, `external checkpoint: ${v.detail}`));
    try {
      const cp = parseCheckpointText(v.text);
      const head = cp.extensions.find((x) => x.startsWith(`${HEAD_EXTENSION} `))?.slice(HEAD_EXTENSION.length + 1);
      witnesses.set(cp.size, { root: cp.root, note: w, ...(head ? { head } : {}) });
    } catch (e) {
      return fail(failure(-1, 'BAD_NOTE', `external checkpoint: ${(e as Error).message}`));
    }
  }
  let signedHead: { size: number; root: Uint8Array; head: string; origin: string } | undefined;
  if (opts.signedHead !== undefined) {
    const v = verifyNote(opts.signedHead, opts.keys);
    if (!v.ok) return fail(failure(-1, v.reason, `signed head: ${v.detail}`));
    try {
      const cp = parseCheckpointText(v.text);
      const head = cp.extensions.length === 1 && cp.extensions[0]!.startsWith(`${HEAD_EXTENSION} `) ? cp.extensions[0]!.slice(HEAD_EXTENSION.length + 1) : undefined;
      if (!head || !parseHex(head, 32) || cp.size < 1) throw new Error('not a chain head note');
      if (origin !== undefined && cp.origin !== origin) return fail(failure(-1, 'ORIGIN_MISMATCH', 'signed head: origin differs from the log origin'));
      signedHead = { size: cp.size, root: cp.root, head, origin: cp.origin };
    } catch (e) {
      return fail(failure(-1, 'BAD_NOTE', `signed head: ${(e as Error).message}`));
    }
  }
  const every = opts.progressEvery ?? 65536;

  function fail(f: Failure): VerifyReport {
    report.failure = f;
    report.ok = false;
    return report;
  }

  const checkWitness = (): Failure | undefined => {
    if (!tree) return undefined;
    const w = witnesses.get(tree.size);
    if (!w) return undefined;
    witnesses.delete(tree.size);
    if (!equalBytes(w.root, tree.root())) return failure(report.lines - 1, 'CONSISTENCY_FAILED', `external checkpoint of size ${tree.size} has a different root than the log`);
    return undefined;
  };

  for await (const raw of lines) {
    const index = report.lines;
    const { bytes, terminated } = toLine(raw);
    report.lines++;
    report.bytes += bytes.length + 1;
    if (opts.onProgress && report.lines % every === 0) opts.onProgress(report.lines, report.bytes);
    if (!terminated) return fail(failure(index, 'TORN_LINE', 'last line is not terminated by a newline'));
    let text: string;
    let ev: Record<string, unknown>;
    try {
      text = utf8Decode(bytes);
      ev = JSON.parse(text) as Record<string, unknown>;
    } catch {
      return fail(failure(index, 'NOT_JSON', 'line is not UTF-8 JSON'));
    }
    if (typeof ev !== 'object' || ev === null || Array.isArray(ev)) return fail(failure(index, 'BAD_ENVELOPE', 'line is not a JSON object'));
    let canon: string;
    try {
      canon = jcs(ev);
    } catch {
      return fail(failure(index, 'NOT_CANONICAL', 'value cannot be canonicalized'));
    }
    if (canon !== text) return fail(failure(index, 'NOT_CANONICAL', 'bytes differ from the RFC 8785 canonical form'));
    const seqS = ev.sequence;
    if (
      ev.specversion !== '1.0' ||
      typeof ev.id !== 'string' ||
      typeof ev.source !== 'string' ||
      typeof ev.type !== 'string' ||
      typeof ev.time !== 'string' ||
      typeof seqS !== 'string' ||
      !SEQ_RE.test(seqS) ||
      typeof ev.prevhash !== 'string' ||
      !parseHex(ev.prevhash, 32)
    ) {
      return fail(failure(index, 'BAD_ENVELOPE', 'missing or malformed CloudEvents/seal attributes', typeof seqS === 'string' ? seqS : undefined));
    }
    const seq = Number(seqS);
    if (!Number.isSafeInteger(seq)) return fail(failure(index, 'BAD_ENVELOPE', 'sequence too large', seqS));
    if (source === undefined) {
      source = ev.source;
      report.startSequence = seqS;
    } else if (ev.source !== source) {
      return fail(failure(index, 'SOURCE_MISMATCH', 'event of another chain (source differs)', seqS));
    }
    if (index === 0) {
      if (seq === 1) {
        if (ev.prevhash !== ZERO_HASH_HEX) return fail(failure(index, 'PREVHASH_MISMATCH', 'first event must have the all-zero prevhash', seqS));
        tree = new CompactTree();
        report.anchoredFrom = '1';
        report.startBound = 'genesis';
      } else {
        // A trusted checkpoint (kept elsewhere) whose signed chain head is at or after the deleted
        // prefix binds the start: the chain from the first surviving event must reach that head.
        const trusted = [...witnesses.entries()].filter(([n, w]) => w.head !== undefined && n >= seq - 1).sort((x, y) => x[0] - y[0])[0];
        if (trusted) {
          witnesses.delete(trusted[0]);
          report.startBound = 'trusted-checkpoint';
          if (trusted[0] === seq - 1) {
            if (ev.prevhash !== trusted[1].head) return fail(failure(index, 'CONSISTENCY_FAILED', `the first event does not continue the trusted checkpoint of size ${trusted[0]}`, seqS));
          } else {
            startAnchor = { size: trusted[0], head: trusted[1].head! };
          }
        } else if (opts.allowTruncatedStart) {
          report.startBound = 'unverified';
          report.warnings.push(`log starts at sequence ${seqS} (earlier segments removed) and nothing trusted binds its start (--allow-truncated-start)`);
        } else {
          return fail(failure(index, 'TRUNCATED_START', `log starts at sequence ${seqS}, not 1: give a trusted checkpoint of size ${seq - 1} (--checkpoint) or --allow-truncated-start`, seqS));
        }
      }
    } else {
      if (seq !== lastSeq + 1) {
        return fail(
          seq <= lastSeq
            ? failure(index, 'SEQUENCE_REPLAY', `sequence ${seqS} after ${lastSeq} (duplicate or reordered)`, seqS)
            : failure(index, 'SEQUENCE_GAP', `sequence ${seqS} after ${lastSeq}: ${seq - lastSeq - 1} missing`, seqS),
        );
      }
      if (ev.prevhash !== bytesToHex(lastLeaf!)) return fail(failure(index, 'PREVHASH_MISMATCH', 'prevhash is not the leaf hash of the previous line', seqS));
    }
    const leaf = leafHash(bytes);
    if (startAnchor && seq === startAnchor.size) {
      if (bytesToHex(leaf) !== startAnchor.head) return fail(failure(index, 'CONSISTENCY_FAILED', `event ${seqS} is not the chain head signed by the trusted checkpoint`, seqS));
      startAnchor = undefined;
    }

    if (ev.eventsig !== undefined && !opts.skipSignatures) {
      let blob: Uint8Array;
      try {
        blob = fromBase64(String(ev.eventsig));
      } catch {
        return fail(failure(index, 'EVENT_SIGNATURE_INVALID', 'eventsig is not base64', seqS));
      }
      const { eventsig: _omit, ...unsigned } = ev;
      const r = verifyBlob(blob, utf8ToBytes(jcs(unsigned)), opts.keys);
      if (r !== 'ok') return fail(failure(index, r === 'UNKNOWN_KEY' ? 'UNKNOWN_KEY' : 'EVENT_SIGNATURE_INVALID', `per-event signature: ${r}`, seqS));
    }

    if (ev.type === 'dev.agentrail.log.gap') {
      const d = (ev.data ?? {}) as Record<string, unknown>;
      // Every gap is said: a fault never ends in a verify without a word about it.
      report.warnings.push(`gap at sequence ${seqS}: ${String(d.reason)}${d.lostEvents !== undefined ? `, ${String(d.lostEvents)} event(s) lost` : ''}${d.lostLines !== undefined ? `, ${String(d.lostLines)} line(s) set aside` : ''}${typeof d.lastDurableTime === 'string' ? `, last durable event at ${d.lastDurableTime}` : ''}`);
      if (typeof d.reason === 'string' && QUARANTINE_REASONS.has(d.reason)) {
        (report.quarantines ??= []).push({
          index,
          sequence: seqS,
          reason: d.reason,
          ...(typeof d.quarantineFile === 'string' ? { file: d.quarantineFile } : {}),
          ...(typeof d.quarantineBytes === 'string' ? { bytes: d.quarantineBytes } : {}),
          ...(typeof d.quarantineSha256 === 'string' ? { sha256: d.quarantineSha256 } : {}),
        });
      }
    }
    const isCheckpoint = ev.type === CHECKPOINT_TYPE;
    if (isCheckpoint) {
      const d = ev.data as Record<string, unknown> | undefined;
      if (
        !d ||
        typeof d !== 'object' ||
        typeof d.note !== 'string' ||
        typeof d.treesize !== 'string' ||
        typeof d.root !== 'string' ||
        typeof d.origin !== 'string' ||
        !Array.isArray(d.frontier)
      ) {
        return fail(failure(index, 'BAD_CHECKPOINT', 'checkpoint data malformed', seqS));
      }
      const size = seq - 1;
      if (d.treesize !== String(size)) return fail(failure(index, 'TREE_SIZE_MISMATCH', `checkpoint treesize ${d.treesize} but it is event ${seqS}`, seqS));
      let root: Uint8Array;
      const frontier: Uint8Array[] = [];
      try {
        root = fromBase64(d.root);
        for (const h of d.frontier) {
          const b = parseHex(h, 32);
          if (!b) throw new Error('frontier');
          frontier.push(b);
        }
        if (root.length !== 32) throw new Error('root');
      } catch {
        return fail(failure(index, 'BAD_CHECKPOINT', 'checkpoint root or frontier malformed', seqS));
      }
      if (frontier.length !== frontierLength(size) || !equalBytes(rootFromFrontier(frontier), root)) {
        return fail(failure(index, 'FRONTIER_MISMATCH', 'checkpoint frontier does not fold to its root', seqS));
      }
      if (tree) {
        if (!equalBytes(tree.root(), root)) return fail(failure(index, 'ROOT_MISMATCH', `root of the first ${size} events differs from the checkpoint`, seqS));
        if (!tree.frontier.every((h, i) => equalBytes(h, frontier[i]!))) return fail(failure(index, 'FRONTIER_MISMATCH', 'checkpoint frontier differs from the recomputed one', seqS));
      } else {
        tree = CompactTree.from(size, frontier);
        anchorSize = size;
        report.anchoredFrom = seqS;
        const wf = checkWitness();
        if (wf) return fail(wf);
      }
      // The origin is seal.origin (default: the source); without --origin it is learned from the first checkpoint.
      origin ??= d.origin;
      if (d.origin !== origin) return fail(failure(index, 'ORIGIN_MISMATCH', 'checkpoint origin differs from the log origin', seqS));
      let cp;
      try {
        cp = parseCheckpointText(parseNote(d.note).text);
      } catch (e) {
        return fail(failure(index, 'BAD_NOTE', (e as Error).message, seqS));
      }
      if (cp.origin !== origin) return fail(failure(index, 'ORIGIN_MISMATCH', 'signed note origin differs from the log origin', seqS));
      const CP_KEYS = ['data', 'datacontenttype', 'dataschema', 'id', 'prevhash', 'sequence', 'source', 'specversion', 'time', 'type'];
      const envKeys = Object.keys(ev).filter((k) => k !== 'eventsig').sort();
      // Extensions: the checkpoint event's own id and time; and (since format 1.1) the chain head,
      // which must be this event's prevhash: it binds every event before it through the chain.
      const head = cp.extensions[1]?.startsWith(`${HEAD_EXTENSION} `) ? cp.extensions[1].slice(HEAD_EXTENSION.length + 1) : undefined;
      if (
        cp.extensions.length !== (head === undefined ? 1 : 2) ||
        cp.extensions[0] !== `${CHECKPOINT_EXTENSION} ${ev.id} ${ev.time}` ||
        (head !== undefined && head !== ev.prevhash) ||
        envKeys.join() !== CP_KEYS.join() ||
        ev.dataschema !== CHECKPOINT_SCHEMA ||
        ev.datacontenttype !== 'application/json' ||
        Object.keys(d).sort().join() !== 'frontier,note,origin,root,treesize'
      ) {
        return fail(failure(index, 'CHECKPOINT_UNBOUND', 'checkpoint event attributes are not the ones bound in its signed note', seqS));
      }
      if (cp.size !== size) return fail(failure(index, 'TREE_SIZE_MISMATCH', 'signed note size differs from the checkpoint', seqS));
      if (!equalBytes(cp.root, root)) return fail(failure(index, 'ROOT_MISMATCH', 'signed note root differs from the checkpoint', seqS));
      const t = Date.parse(ev.time);
      const v = opts.skipSignatures
        ? ({ ok: true, key: { name: parseNote(d.note).signatures[0]!.name } } as const)
        : verifyNote(d.note, opts.keys, Number.isNaN(t) ? undefined : t);
      if (!v.ok) return fail(failure(index, v.reason, v.detail, seqS));
      if (unanchoredPrefix > 0) {
        if (head === undefined) {
          return fail(failure(index, 'UNBOUND_PREFIX', `${unanchoredPrefix} event(s) before the first surviving checkpoint are covered by no signature (its note does not sign the chain head)`, seqS));
        }
        unanchoredPrefix = 0;
      }
      report.checkpoints++;
      const info: CheckpointInfo = { index, sequence: seqS, treeSize: size, root: toBase64(root), note: d.note, keyName: v.key.name, event: ev };
      const { event: _e, note: _n, ...brief } = info;
      report.lastCheckpoint = brief;
      report.checkpointList?.push(info);
      firstUnsigned = -1;
      report.unsignedTail = 0;
    }
    if (tree) {
      tree.append(leaf);
      const wf = checkWitness();
      if (wf) return fail(wf);
    } else if (!isCheckpoint) {
      unanchoredPrefix++;
    }
    report.leaves?.push(leaf);
    report.ids?.set(ev.id, index);
    if (!isCheckpoint) {
      if (firstUnsigned < 0) firstUnsigned = index;
      report.unsignedTail++;
    }
    if (signedHead && seq === signedHead.size) {
      // The sensor signed this leaf (and the tree up to it) as written: everything so far is covered.
      if (bytesToHex(leaf) !== signedHead.head || (tree && !equalBytes(tree.root(), signedHead.root))) {
        return fail(failure(index, 'CONSISTENCY_FAILED', `event ${seqS} is not the chain head the sensor signed (head.note)`, seqS));
      }
      if (origin !== undefined && signedHead.origin !== origin) return fail(failure(index, 'ORIGIN_MISMATCH', 'signed head: origin differs from the log origin', seqS));
      report.signedHeadSequence = seqS;
      signedHead = undefined;
      firstUnsigned = -1;
      report.unsignedTail = 0;
    }
    lastSeq = seq;
    lastLeaf = leaf;
    report.lastSequence = seqS;
  }
  opts.onProgress?.(report.lines, report.bytes);
  if (report.lines === 0) return fail(failure(0, 'EMPTY_LOG', 'no lines'));
  if (startAnchor) return fail(failure(report.lines, 'TRUNCATED', `the trusted checkpoint of size ${startAnchor.size} is past the end of the log`));
  if (signedHead) {
    if (signedHead.size > lastSeq) return fail(failure(report.lines, 'TRUNCATED', `the sensor signed a chain head at sequence ${signedHead.size} (head.note) but the log ends at ${lastSeq}`));
    report.warnings.push(`the signed head (sequence ${signedHead.size}) predates the first event of the log`);
  }
  for (const [size] of witnesses) {
    if (size < anchorSize) {
      report.warnings.push(`external checkpoint of size ${size} predates the first verifiable checkpoint (earlier segments removed)`);
      continue;
    }
    return fail(failure(report.lines, 'TRUNCATED', `external checkpoint of size ${size} but the log has ${tree?.size ?? 0} verified events`));
  }
  if (report.unsignedTail > 0) {
    if (!tree || !opts.allowUnsignedTail) {
      return fail(
        failure(firstUnsigned, 'UNSIGNED_TAIL', `${report.unsignedTail} event(s) after the last checkpoint${opts.signedHead !== undefined ? ' and the signed head' : ''} are not covered by a signature (truncated log, or appended while the sensor was not running)`),
      );
    }
    report.warnings.push(`${report.unsignedTail} event(s) after the last checkpoint are not yet signed`);
  }
  // Everything verified, but a recovery set lines aside: the tampering (or corruption) it found
  // before the restart stays reported, with where its bytes are kept.
  const q = report.quarantines?.[0];
  if (q) {
    return fail(
      failure(
        q.index,
        'QUARANTINED',
        `${q.reason === 'signed-lines-missing' ? 'a restart found the log shorter than the chain head its sensor had signed (signed-lines-missing)' : `a recovery set aside ${q.bytes ?? '?'} bytes (${q.reason}) it cannot vouch for`}${q.file ? `: kept in ${q.file} sha256 ${q.sha256}` : ''}${report.quarantines!.length > 1 ? ` (+${report.quarantines!.length - 1} more)` : ''}`,
        q.sequence,
      ),
    );
  }
  report.ok = true;
  return report;
}
