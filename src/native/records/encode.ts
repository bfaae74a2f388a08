import { AgentrailError } from '../../errors.js';
import type { RawEvent } from '../../contracts/raw-event.js';
import { BY_KIND } from './registry.js';

/**
 * RawEvent → record bytes in the kernel ABI (bpf/include/agentrail_abi.h).
 * Used by the bpftrace source (so every source shares one decoder), by tests
 * and synthetic fixtures. Strings longer than their fixed arrays are
 * truncated the way the kernel truncates them.
 */
export function encodeEvent(ev: RawEvent): Buffer {
  const codec = BY_KIND.get(ev.kind);
  if (!codec) throw new AgentrailError('ENCODE_UNKNOWN_KIND', `no encoder for raw event kind ${String(ev.kind)}`);
  return codec.encode(ev);
}

/** Many events → one batch (records back to back). */
export function encodeBatch(events: readonly RawEvent[]): Buffer {
  return Buffer.concat(events.map(encodeEvent));
}
