/**
 * Offline proof files (docs/integrity.md §6): an inclusion proof binds one event to a signed
 * checkpoint; a consistency proof binds two signed checkpoints of the same log.
 */
import { bytesToHex, hexToBytes, parseHex, utf8ToBytes } from './bytes.js';
import { jcs } from './jcs.js';
import { consistencyProof, inclusionProof, leafHash, verifyConsistency, verifyInclusion } from './merkle.js';
import { parseCheckpointText, verifyNote, type Checkpoint, type VerifierKey } from './note.js';
import { failure, type Failure } from './reasons.js';

export const INCLUSION_FORMAT = 'agentrail.inclusion-proof.v1';
export const CONSISTENCY_FORMAT = 'agentrail.consistency-proof.v1';

export interface InclusionProofFile {
  format: typeof INCLUSION_FORMAT;
  event: Record<string, unknown>;
  leafIndex: string;
  treeSize: string;
  auditPath: string[];
  /** The signed note of the checkpoint, verbatim. */
  checkpoint: string;
  /** `time` of the checkpoint event (for key validity windows). */
  checkpointTime?: string;
}

export interface ConsistencyProofFile {
  format: typeof CONSISTENCY_FORMAT;
  checkpoint1: string;
  checkpoint1Time?: string;
  checkpoint2: string;
  checkpoint2Time?: string;
  proof: string[];
}

export interface ProofVerdict {
  ok: boolean;
  failure?: Failure;
  origin?: string;
  leafIndex?: number;
  treeSize?: number;
  keyName?: string;
}

export function makeInclusionProof(
  leaves: readonly Uint8Array[],
  index: number,
  event: Record<string, unknown>,
  checkpoint: { note: string; treeSize: number; time?: string },
): InclusionProofFile {
  const p: InclusionProofFile = {
    format: INCLUSION_FORMAT,
    event,
    leafIndex: String(index),
    treeSize: String(checkpoint.treeSize),
    auditPath: inclusionProof(leaves, index, checkpoint.treeSize).map(bytesToHex),
    checkpoint: checkpoint.note,
  };
  if (checkpoint.time) p.checkpointTime = checkpoint.time;
  return p;
}

export function makeConsistencyProof(
  leaves: readonly Uint8Array[],
  a: { note: string; treeSize: number; time?: string },
  b: { note: string; treeSize: number; time?: string },
): ConsistencyProofFile {
  const p: ConsistencyProofFile = {
    format: CONSISTENCY_FORMAT,
    checkpoint1: a.note,
    checkpoint2: b.note,
    proof: consistencyProof(leaves, a.treeSize, b.treeSize).map(bytesToHex),
  };
  if (a.time) p.checkpoint1Time = a.time;
  if (b.time) p.checkpoint2Time = b.time;
  return p;
}

function hexList(x: unknown): Uint8Array[] | undefined {
  if (!Array.isArray(x)) return undefined;
  const out: Uint8Array[] = [];
  for (const h of x) {
    const b = parseHex(h, 32);
    if (!b) return undefined;
    out.push(b);
  }
  return out;
}

function num(x: unknown): number | undefined {
  return typeof x === 'string' && /^(0|[1-9][0-9]*)$/.test(x) && Number.isSafeInteger(Number(x)) ? Number(x) : undefined;
}

function signedCheckpoint(note: unknown, time: unknown, keys: readonly VerifierKey[]): Checkpoint | Failure {
  if (typeof note !== 'string') return failure(-1, 'BAD_PROOF_FILE', 'checkpoint note missing');
  const t = typeof time === 'string' ? Date.parse(time) : NaN;
  const v = verifyNote(note, keys, Number.isNaN(t) ? undefined : t);
  if (!v.ok) return failure(-1, v.reason, `checkpoint: ${v.detail}`);
  try {
    return parseCheckpointText(v.text);
  } catch (e) {
    return failure(-1, 'BAD_NOTE', (e as Error).message);
  }
}

function isFailure(x: Checkpoint | Failure): x is Failure {
  return 'reason' in x;
}

export function verifyInclusionProofFile(file: unknown, keys: readonly VerifierKey[]): ProofVerdict {
  const f = file as Partial<InclusionProofFile> | null;
  if (!f || typeof f !== 'object' || f.format !== INCLUSION_FORMAT) return { ok: false, failure: failure(-1, 'BAD_PROOF_FILE', 'not an inclusion proof file') };
  const index = num(f.leafIndex);
  const size = num(f.treeSize);
  const path = hexList(f.auditPath);
  if (index === undefined || size === undefined || !path || !f.event || typeof f.event !== 'object') {
    return { ok: false, failure: failure(-1, 'BAD_PROOF_FILE', 'malformed inclusion proof fields') };
  }
  const cp = signedCheckpoint(f.checkpoint, f.checkpointTime, keys);
  if (isFailure(cp)) return { ok: false, failure: { ...cp, index } };
  if (cp.size !== size) return { ok: false, failure: failure(index, 'TREE_SIZE_MISMATCH', 'proof tree size differs from the signed checkpoint') };
  const ev = f.event as Record<string, unknown>;
  if (ev.sequence !== String(index + 1)) return { ok: false, failure: failure(index, 'PROOF_EVENT_MISMATCH', 'event sequence does not match the leaf index') };
  let leaf: Uint8Array;
  try {
    leaf = leafHash(utf8ToBytes(jcs(ev)));
  } catch {
    return { ok: false, failure: failure(index, 'NOT_CANONICAL', 'event cannot be canonicalized') };
  }
  if (!verifyInclusion(index, size, leaf, path, cp.root)) {
    return { ok: false, failure: failure(index, 'INCLUSION_PROOF_INVALID', 'audit path does not lead to the signed root') };
  }
  return { ok: true, origin: cp.origin, leafIndex: index, treeSize: size };
}

export function verifyConsistencyProofFile(file: unknown, keys: readonly VerifierKey[]): ProofVerdict {
  const f = file as Partial<ConsistencyProofFile> | null;
  if (!f || typeof f !== 'object' || f.format !== CONSISTENCY_FORMAT) return { ok: false, failure: failure(-1, 'BAD_PROOF_FILE', 'not a consistency proof file') };
  const path = hexList(f.proof);
  if (!path) return { ok: false, failure: failure(-1, 'BAD_PROOF_FILE', 'malformed consistency proof') };
  const a = signedCheckpoint(f.checkpoint1, f.checkpoint1Time, keys);
  if (isFailure(a)) return { ok: false, failure: a };
  const b = signedCheckpoint(f.checkpoint2, f.checkpoint2Time, keys);
  if (isFailure(b)) return { ok: false, failure: b };
  if (a.origin !== b.origin) return { ok: false, failure: failure(-1, 'ORIGIN_MISMATCH', 'checkpoints of different logs') };
  const [lo, hi] = a.size <= b.size ? [a, b] : [b, a];
  if (!verifyConsistency(lo.size, hi.size, path, lo.root, hi.root)) {
    return { ok: false, failure: failure(lo.size, 'CONSISTENCY_FAILED', `tree ${hi.size} does not extend tree ${lo.size}`) };
  }
  return { ok: true, origin: a.origin, treeSize: hi.size };
}

export { hexToBytes };
