import { createHash } from 'node:crypto';
import { EventTypes, isoMicros, makeEnvelope, newEventId, type CloudEvent } from '../contracts/envelope.js';
import type { CommonFields } from '../contracts/agent-fields.js';
import { wellFormed } from './well-formed.js';

export interface BuildOptions {
  type: (typeof EventTypes)[keyof typeof EventTypes];
  source: string;
  /** Wall-clock time of the event in ns since the epoch. */
  timeNs: bigint;
  /** Pre-allocated id (events that others link to before they are emitted). */
  id?: string;
  common: Omit<CommonFields, 'event_id' | 'ts'>;
}

/** Span id of an event inside its trace: derived from the event id, stable. */
export function spanIdOf(eventId: string): string {
  return createHash('sha256').update(eventId).digest('hex').slice(0, 16);
}

/**
 * The same fields with keys in RFC 8785 (code-unit) order, and so each object directly under them
 * (agent, cause, outcome, process, reasoning…): the sealer's canonicalizer then only checks them and
 * lets JSON.stringify write the bytes (src/seal/canonical.ts). Deeper objects it sorts itself.
 */
function sortedKeys(o: Record<string, unknown>, children: boolean): Record<string, unknown> {
  const keys = Object.keys(o);
  keys.sort();
  const out: Record<string, unknown> = {};
  for (const k of keys) {
    const v = o[k];
    out[k] = children && v !== null && typeof v === 'object' && !Array.isArray(v) && !Buffer.isBuffer(v) ? sortedKeys(v as Record<string, unknown>, false) : v;
  }
  return out;
}

export function buildAgentEvent<F extends object>(o: BuildOptions, fields: F): CloudEvent<CommonFields & F> {
  const id = o.id ?? newEventId(Number(o.timeNs / 1_000_000n));
  const ts = isoMicros(o.timeNs);
  // Normalised at the event boundary: a lone surrogate must not turn an action into a log.gap.
  const data = wellFormed(sortedKeys({ event_id: id, ts, ...o.common, ...fields }, true)) as CommonFields & F;
  return makeEnvelope({
    type: o.type,
    source: o.source,
    id,
    timeNs: o.timeNs,
    subject: o.common.workload_id,
    traceparent: `00-${o.common.trace_id}-${spanIdOf(id)}-01`,
    partitionkey: o.common.trace_id,
    data: data as unknown as Record<string, unknown>,
  }) as unknown as CloudEvent<CommonFields & F>;
}
