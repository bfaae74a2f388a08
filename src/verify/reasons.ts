/** Reason codes of the verifier, their failure classes and the CLI exit code of each class. */
export const FAILURE_CLASSES = {
  FORMAT: 10,
  SEQUENCE: 11,
  CHAIN: 12,
  MERKLE: 13,
  SIGNATURE: 14,
  CONSISTENCY: 15,
  TRUNCATION: 16,
  PROOF: 17,
} as const;
export type FailureClass = keyof typeof FAILURE_CLASSES;

export const REASONS = {
  TORN_LINE: 'FORMAT', // last line has no '\n'
  NOT_JSON: 'FORMAT', // not UTF-8 or not JSON
  NOT_CANONICAL: 'FORMAT', // bytes differ from the RFC 8785 form of the same JSON
  BAD_ENVELOPE: 'FORMAT', // missing/ill-typed CloudEvents or seal attributes
  EMPTY_LOG: 'FORMAT',
  SEQUENCE_GAP: 'SEQUENCE', // sequence jumps forward (deleted events)
  SEQUENCE_REPLAY: 'SEQUENCE', // sequence repeats or goes back (duplicate, reorder)
  PREVHASH_MISMATCH: 'CHAIN', // prevhash ≠ leaf hash of the previous line (insert, change of the previous line)
  SOURCE_MISMATCH: 'CHAIN', // an event of another chain
  TREE_SIZE_MISMATCH: 'MERKLE', // checkpoint size ≠ sequence − 1, or note size ≠ data.treesize
  ROOT_MISMATCH: 'MERKLE', // recomputed root ≠ checkpoint root
  FRONTIER_MISMATCH: 'MERKLE', // checkpoint frontier ≠ recomputed, or does not fold to its root
  BAD_CHECKPOINT: 'MERKLE', // checkpoint data malformed
  BAD_NOTE: 'SIGNATURE', // signed note unparseable
  ORIGIN_MISMATCH: 'SIGNATURE', // note origin ≠ log origin
  UNKNOWN_KEY: 'SIGNATURE', // no signature by a key of the keyring
  BAD_SIGNATURE: 'SIGNATURE', // a keyring key's signature does not verify
  KEY_NOT_VALID: 'SIGNATURE', // signed by a key outside its validity window
  CHECKPOINT_UNBOUND: 'SIGNATURE', // checkpoint event attributes differ from those bound in its signed note
  EVENT_SIGNATURE_INVALID: 'SIGNATURE', // per-event signature (eventsig) wrong
  CONSISTENCY_FAILED: 'CONSISTENCY', // an external checkpoint or proof is not consistent with the log
  UNSIGNED_TAIL: 'TRUNCATION', // events after the last checkpoint (a cut tail, or a live log: --allow-unsigned-tail)
  TRUNCATED: 'TRUNCATION', // an external checkpoint is larger than the log
  TRUNCATED_START: 'TRUNCATION', // the log starts after sequence 1 and nothing trusted binds its start (--allow-truncated-start)
  QUARANTINED: 'TRUNCATION', // a recovery moved tampered, corrupt or unprovable lines into the quarantine (signed log.gap)
  UNBOUND_PREFIX: 'TRUNCATION', // events before the first surviving checkpoint, which does not sign the chain head
  BAD_PROOF_FILE: 'PROOF',
  PROOF_EVENT_MISMATCH: 'PROOF', // the proof's event is not the leaf it claims
  INCLUSION_PROOF_INVALID: 'PROOF',
} as const satisfies Record<string, FailureClass>;
export type ReasonCode = keyof typeof REASONS;

export function exitCodeOf(reason: ReasonCode): number {
  return FAILURE_CLASSES[REASONS[reason]];
}

export interface Failure {
  /** 0-based line index in the input (= leaf index when the log starts at sequence 1). */
  index: number;
  sequence?: string;
  reason: ReasonCode;
  class: FailureClass;
  exitCode: number;
  detail: string;
}

export function failure(index: number, reason: ReasonCode, detail: string, sequence?: string): Failure {
  const f: Failure = { index, reason, class: REASONS[reason], exitCode: exitCodeOf(reason), detail };
  if (sequence !== undefined) f.sequence = sequence;
  return f;
}
