import type { CloudEvent } from '../contracts/envelope.js';

/**
 * The five questions of an incident review, answered from sealed events alone (the seed's 90-day
 * test). Pure: events in, a stable JSON shape out (docs/investigate.md); the CLI reads and verifies.
 */
type D = Record<string, any>;
const T = (t: string) => `dev.agentrail.${t}`;

export interface Scope {
  trace?: string;
  session?: string;
  pid?: number;
  since?: string;
  until?: string;
}

export interface ArtifactMatch {
  artifact: string;
  sha256: string;
  found: Array<{ event_id: string; sequence: string | null; type: string; field: string; resource?: string | null }>;
}

export interface Answers {
  scope: Scope;
  events: number;
  q1_triggering_input: Array<{ event_id: string; time: string; model: string; trace_id: string; agent_session_id: string; instruction_hash: string | null; traceparent_adopted: boolean; prompt_class: string | null }>;
  q2_tools: Array<{ event_id: string; time: string; tool: string; target: string | null; requested_by: string | null; param_schema: unknown; param_sensitivity: string[]; return_hash: string | null; status: string | null }>;
  q3_data: Array<{ resource: string; type: string; accesses: number; modes: string[]; bytes_read: number; bytes_written: number; tags: string[]; first_event_id: string }>;
  q4_egress: { destinations: Array<{ resource: string; bytes_out: number; bytes_in: number; plaintext: string | null; events: number; request_hashes: string[] }>; artifacts: ArtifactMatch[] };
  q5_identity: Array<{ event_id: string; pid: number | null; uid: number | null; credential_type: string; service_account: string | null; federated_identity: string | null; key_id_hash: string | null; asserted_scope: string[]; granted_scope: string[] | null; within_granted_scope: boolean | null; audience_host: string | null }>;
  policy: Array<{ event_id: string; decision: string; policy_id: string; severity: string | null; evaluated_event_id: string | null }>;
}

export function inScope(ev: CloudEvent, s: Scope): boolean {
  const d = (ev.data ?? {}) as D;
  if (s.trace && d.trace_id !== s.trace) return false;
  if (s.session && d.agent_session_id !== s.session) return false;
  if (s.pid !== undefined && d.process?.pid !== s.pid) return false;
  if (s.since && ev.time < s.since) return false;
  if (s.until && ev.time > s.until) return false;
  return true;
}

/** Every field of an event whose value is a content hash; what --artifact searches. */
const HASH_FIELDS = ['request_hash', 'response_hash', 'content_hash', 'return_hash', 'output_hash', 'output_text_hash', 'input_hash'];

function hashFields(d: D): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const f of HASH_FIELDS) if (typeof d[f] === 'string') out.push([f, d[f]]);
  for (const [i, t] of (d.tools_requested ?? []).entries()) if (typeof t?.arguments_hash === 'string') out.push([`tools_requested[${i}].arguments_hash`, t.arguments_hash]);
  return out;
}

export function answer(all: CloudEvent[], scope: Scope, artifacts: Array<{ name: string; sha256: string }>): Answers {
  const evs = all.filter((e) => inScope(e, scope));
  const of = (t: string) => evs.filter((e) => e.type === T(t));
  const d = (e: CloudEvent) => (e.data ?? {}) as D;

  // Q1: the first model call of each session, and what caused it.
  const firstBySession = new Map<string, CloudEvent>();
  for (const e of of('model.invocation')) if (!firstBySession.has(d(e).agent_session_id)) firstBySession.set(d(e).agent_session_id, e);
  const q1 = [...firstBySession.values()].map((e) => ({
    event_id: e.id,
    time: e.time,
    model: d(e).model_id,
    trace_id: d(e).trace_id,
    agent_session_id: d(e).agent_session_id,
    instruction_hash: d(e).cause?.instruction_hash ?? null,
    traceparent_adopted: !!d(e).trace_adopted,
    prompt_class: d(e).prompt_class ?? null,
  }));

  const q2 = of('tool.invocation').map((e) => ({
    event_id: e.id,
    time: e.time,
    tool: d(e).tool_name,
    target: d(e).target ?? null,
    requested_by: d(e).cause?.event_id ?? d(e).triggering_event_id ?? null,
    param_schema: d(e).param_schema ?? null,
    param_sensitivity: d(e).param_sensitivity ?? [],
    return_hash: d(e).return_hash ?? null,
    status: d(e).outcome?.status ?? null,
  }));

  const res = new Map<string, Answers['q3_data'][number]>();
  const egress = new Map<string, Answers['q4_egress']['destinations'][number]>();
  for (const e of of('data.access')) {
    const x = d(e);
    const key = String(x.resource_uri);
    let r = res.get(key);
    if (!r) res.set(key, (r = { resource: key, type: x.resource_type, accesses: 0, modes: [], bytes_read: 0, bytes_written: 0, tags: [], first_event_id: e.id }));
    r.accesses++;
    if (!r.modes.includes(x.access_mode)) r.modes.push(x.access_mode);
    r.bytes_read += Number(x.bytes_read ?? 0);
    r.bytes_written += Number(x.bytes_written ?? 0);
    for (const t of x.sensitivity_tags_resolved ?? []) if (!r.tags.includes(t)) r.tags.push(t);
    if (x.resource_type === 'socket' || x.resource_type === 'url' || x.resource_type === 'object') {
      let g = egress.get(key);
      if (!g) egress.set(key, (g = { resource: key, bytes_out: 0, bytes_in: 0, plaintext: x.network?.plaintext ?? null, events: 0, request_hashes: [] }));
      g.events++;
      g.bytes_out += Number(x.bytes_written ?? 0);
      g.bytes_in += Number(x.bytes_read ?? 0);
      if (x.request_hash && !g.request_hashes.includes(x.request_hash)) g.request_hashes.push(x.request_hash);
    }
  }

  const arts: ArtifactMatch[] = artifacts.map((a) => ({ artifact: a.name, sha256: a.sha256, found: [] }));
  for (const e of evs) {
    const fields = hashFields(d(e));
    for (const a of arts) for (const [f, v] of fields) if (v === a.sha256) a.found.push({ event_id: e.id, sequence: (e as { sequence?: string }).sequence ?? null, type: e.type.replace('dev.agentrail.', ''), field: f, resource: d(e).resource_uri ?? d(e).tool_name ?? d(e).model_id ?? null });
  }
  // The model request that carried a matching tool result back to the model (issue 12): linked, not hashed.
  for (const a of arts) {
    const tools = new Set(a.found.filter((f) => f.type === 'tool.invocation').map((f) => f.event_id));
    for (const e of of('model.invocation'))
      if ((d(e).tool_result_event_ids ?? []).some((id: string) => tools.has(id)))
        a.found.push({ event_id: e.id, sequence: (e as { sequence?: string }).sequence ?? null, type: 'model.invocation', field: 'tool_result_event_ids', resource: d(e).model_id ?? null });
  }

  const q5 = of('identity.assertion').map((e) => {
    const x = d(e);
    return {
      event_id: e.id,
      pid: x.process?.pid ?? null,
      uid: x.uid ?? null,
      credential_type: x.credential_type,
      service_account: x.service_account ?? null,
      federated_identity: x.federated_identity ?? null,
      key_id_hash: x.key_id_hash ?? null,
      asserted_scope: x.asserted_scope ?? [],
      granted_scope: x.granted_scope ?? null,
      within_granted_scope: x.within_granted_scope ?? null,
      audience_host: x.audience_host ?? null,
    };
  });

  const policy = of('policy.decision').map((e) => ({ event_id: e.id, decision: d(e).decision, policy_id: d(e).policy_id, severity: d(e).severity ?? null, evaluated_event_id: d(e).evaluated_event_id ?? null }));

  return { scope, events: evs.length, q1_triggering_input: q1, q2_tools: q2, q3_data: [...res.values()], q4_egress: { destinations: [...egress.values()], artifacts: arts }, q5_identity: q5, policy };
}
