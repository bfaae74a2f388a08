import { sha256Hex } from '../contracts/digest.js';
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
  return sha256Hex(eventId).slice(0, 16);
}

export function buildAgentEvent<F extends object>(o: BuildOptions, fields: F): CloudEvent<CommonFields & F> {
  const id = o.id ?? newEventId(Number(o.timeNs / 1_000_000n));
  const ts = isoMicros(o.timeNs);
  // Normalised at the event boundary: a lone surrogate must not turn an action into a log.gap.
  const data = wellFormed({ event_id: id, ts, ...o.common, ...fields }) as CommonFields & F;
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
