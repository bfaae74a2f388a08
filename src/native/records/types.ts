import type { RawEvent } from '../../contracts/raw-event.js';

/**
 * One module per op owns that op's layout in both directions. `decode` gets a
 * record whose header is already validated (size within the batch, size >=
 * minSize, known version) and returns the event or a failure reason (a fixed
 * vocabulary used as a metric label — never content).
 */
export interface OpCodec<E extends RawEvent = RawEvent> {
  /** Op numbers handled (ar_net_conn serves connect and accept). */
  ops: readonly number[];
  struct: string;
  /** Smallest valid hdr.size for this op. */
  minSize: number;
  /**
   * Build the event as ONE object literal with the header fields first (no
   * spread: `{...header, …}` is ~15x slower in V8 and makes the objects slow).
   */
  decode(buf: Buffer, o: number, size: number): E | DecodeFailure;
  /** Record bytes for one event; returns the op number and the bytes. */
  encode(ev: E): Buffer;
  kinds: readonly E['kind'][];
}

export interface DecodeFailure {
  fail: string;
}

export function isFailure(x: unknown): x is DecodeFailure {
  return typeof x === 'object' && x !== null && 'fail' in x;
}
