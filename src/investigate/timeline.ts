import { createHash } from 'node:crypto';
import type { CloudEvent } from '../contracts/envelope.js';
import { inScope, type Scope } from './answers.js';

/**
 * The causal chain of an incident as rows in chain order, for the HTML report: each row names its
 * event id, sequence and Merkle leaf hash (SHA-256 of 0x00 ‖ the exact log line, RFC 6962), so an
 * investigator can take any row to `agentrail prove`; and the event it was caused by, so the page
 * can link model → tool → data → egress.
 */
type D = Record<string, any>;

export type Lane = 'model' | 'tool' | 'data' | 'egress' | 'identity' | 'policy' | 'error';

export interface TimelineRow {
  event_id: string;
  sequence: string | null;
  /** Hex leaf hash of the line as stored; null for a Kafka source (no stored line bytes). */
  leaf_hash: string | null;
  time: string;
  type: string;
  lane: Lane;
  /** What happened, in words built from fields (model id, tool name, resource URI, …). */
  what: string;
  bytes_in: number | null;
  bytes_out: number | null;
  tags: string[];
  /** The event this one was caused by (requested by, triggered by, evaluated), when recorded. */
  caused_by: string | null;
}

const EGRESS = new Set(['socket', 'url', 'object']);
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const str = (v: unknown): string => (v === undefined || v === null ? '' : String(v));

/** RFC 6962 leaf hash of one log line (the same bytes `agentrail verify` hashes). */
export function leafHashOfLine(line: string): string {
  return createHash('sha256').update(Buffer.from([0])).update(line, 'utf8').digest('hex');
}

function row(ev: CloudEvent, line: string | undefined): (Omit<TimelineRow, 'tags'> & { tags: unknown[] }) | null {
  const d = (ev.data ?? {}) as D;
  const type = ev.type.replace('dev.agentrail.', '');
  const base = { event_id: ev.id, sequence: (ev as { sequence?: string }).sequence ?? null, leaf_hash: line === undefined ? null : leafHashOfLine(line), time: ev.time, type };
  switch (type) {
    case 'model.invocation': {
      const asked = arr(d.tools_requested).map((t) => str((t as D)?.name)).filter(Boolean);
      return { ...base, lane: 'model', what: `${str(d.model_id)}${asked.length ? ` requests ${asked.join(', ')}` : ''}`, bytes_in: num(d.output_byte_count), bytes_out: num(d.input_byte_count), tags: [...arr(d.input_sensitivity), ...arr(d.output_sensitivity)], caused_by: d.cause?.event_id ?? null };
    }
    case 'tool.invocation':
      return { ...base, lane: 'tool', what: `${str(d.tool_name)}${d.outcome?.status ? ` (${str(d.outcome.status)})` : ''}`, bytes_in: num(d.return_size), bytes_out: null, tags: [...arr(d.param_sensitivity), ...arr(d.return_sensitivity)], caused_by: d.cause?.event_id ?? d.triggering_event_id ?? null };
    case 'data.access':
      return { ...base, lane: EGRESS.has(d.resource_type) ? 'egress' : 'data', what: `${str(d.access_mode)} ${str(d.resource_uri)}`, bytes_in: num(d.bytes_read), bytes_out: num(d.bytes_written), tags: arr(d.sensitivity_tags_resolved), caused_by: d.triggering_event_id ?? d.cause?.event_id ?? null };
    case 'identity.assertion':
      return { ...base, lane: 'identity', what: `${str(d.credential_type)}${d.audience_host ? ` → ${str(d.audience_host)}` : ''}`, bytes_in: null, bytes_out: null, tags: [], caused_by: null };
    case 'policy.decision':
      return { ...base, lane: 'policy', what: `${str(d.decision)} ${str(d.policy_id)}`, bytes_in: null, bytes_out: null, tags: [], caused_by: d.evaluated_event_id ?? null };
    case 'error':
      return { ...base, lane: 'error', what: str(d.error_class), bytes_in: null, bytes_out: null, tags: [], caused_by: d.originating_event_id ?? null };
    default:
      return null; // checkpoints and other log records are not agent actions
  }
}

/** The row of one event if it is an in-scope agent action, else null (called while reading, so lines are not kept). */
export function timelineRow(event: CloudEvent, line: string | undefined, scope: Scope): TimelineRow | null {
  if (!inScope(event, scope)) return null;
  const r = row(event, line);
  return r && { ...r, tags: r.tags.map(String) };
}
