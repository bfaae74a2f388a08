import type { CloudEvent } from '../contracts/envelope.js';
import type { QuarantineInfo } from './quarantine.js';

/**
 * The contract between the sealer and whatever stores sealed events (docs/integrity.md §2).
 * The local log (src/sink/local-log.ts) implements it. The sealer never imports a sink.
 */

/** One existing line of the log, without its trailing '\n'. */
export interface LogLine {
  bytes: Uint8Array;
  /** false only for an unterminated last line (a torn write after a crash). */
  terminated: boolean;
}

/** A sealed event as handed to the sink. */
export interface SealedEvent {
  event: CloudEvent;
  /** RFC 8785 canonical bytes (no trailing newline): what is hashed and what is written. */
  canonical: Buffer;
  /** 1-based position in the chain (= Number(event.sequence)). */
  sequence: number;
  /** SHA-256(0x00 ‖ canonical), 32 bytes. */
  leafHash: Buffer;
}

export interface SealedLogSink {
  /**
   * Existing lines, oldest first, for recovery on start. May begin at sequence 1 or at any later
   * line (after retention); the sealer re-anchors its Merkle state at the first checkpoint it sees,
   * so yielding from the segment that holds the newest checkpoint is enough.
   */
  existingLines(): Iterable<LogLine> | AsyncIterable<LogLine>;
  /**
   * Remove the last `lines` lines yielded by existingLines() (a torn/corrupt tail). Called at most
   * once, before the first append. Returns the number of bytes removed.
   */
  truncateTail(lines: number): number | Promise<number>;
  /** Where the bytes removed by the last truncateTail() were kept (quarantine), if the sink keeps them. */
  lastQuarantine?(): QuarantineInfo | undefined;
  /**
   * The signed chain head stored by the last run (src/seal/signed-head.ts), read during recovery.
   * A sink without one makes recovery adopt only lines up to the last checkpoint after a crash.
   */
  signedHead?(): string | undefined;
  /**
   * Called once by the sealer after recovery: after every write that leaves no appended line
   * unwritten, the sink calls `sign()` and stores the note atomically (and fsyncs it with the log).
   */
  setHeadSigner?(sign: () => string): void;
  /**
   * Append `canonical` + '\n'. Synchronous and in call order: buffer internally if needed;
   * write errors surface from flush(). Segment rotation is the sink's business (name = first
   * sequence, docs/integrity.md §2).
   */
  append(ev: SealedEvent): void;
  /** Resolve when everything appended so far is written (and fsynced if the sink's policy says so). */
  flush(): Promise<void>;
  close(): Promise<void>;
}
