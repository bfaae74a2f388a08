/**
 * The deterministic part of what a replay of a recorded capture produces:
 * counts per event type and, per agent-action event, the fields that do not
 * depend on wall-clock time or random ids. `scripts/record-fixtures.mjs`
 * writes it next to each capture (`*.expected.json`); the replay tests
 * compute it again and compare.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export type Ev = { id: string; type: string; source: string; time?: string; data: Record<string, any> };

export interface CaptureSummary {
  counts: Record<string, number>;
  models: Array<{ pid: number; model_id: string; output_hash: string | null; prompt_token_count: number; output_token_count: number; tools_requested: string[] }>;
  tools: Array<{ pid: number; tool_name: string; param_schema: unknown; return_status: unknown; return_size: unknown; return_hash: unknown; triggered_by_model: boolean }>;
  data: Array<{ pid: number; resource_uri: string; access_mode: string; byte_count: unknown; triggered_by_tool: boolean }>;
  errors: Array<{ pid: number; kind: string }>;
}

export function readLogEvents(logDir: string): Ev[] {
  const seg = join(logDir, 'segments');
  const out: Ev[] = [];
  for (const f of readdirSync(seg).sort()) {
    for (const line of readFileSync(join(seg, f), 'utf8').split('\n')) if (line) out.push(JSON.parse(line) as Ev);
  }
  return out;
}

const AGENT_TYPES = ['model.invocation', 'tool.invocation', 'data.access', 'identity.assertion', 'error', 'policy.decision'];
const short = (t: string) => t.replace(/^dev\.agentrail\./, '');
const cmp = (a: unknown, b: unknown) => {
  const x = JSON.stringify(a);
  const y = JSON.stringify(b);
  return x < y ? -1 : x > y ? 1 : 0;
};

/** A stable name for an error event: its class and the status/code that goes with it. */
function errorKind(d: Record<string, any>): string {
  return [d.error_class, d.http_status, d.exit_code, d.errno, d.signal].filter((v) => v !== undefined && v !== null).map(String).join(':');
}

/** The directory of the fixture's data file: data accesses are summarized only below it (system files vary with ignore rules). */
export const FIXTURE_DATA_PREFIX = 'file:///tmp/agentrail-fixture/';

export function summarize(events: Ev[], dataPrefix = FIXTURE_DATA_PREFIX): CaptureSummary {
  const counts: Record<string, number> = {};
  for (const e of events) {
    const t = short(e.type);
    if (AGENT_TYPES.includes(t)) counts[t] = (counts[t] ?? 0) + 1;
  }
  const byId = new Map(events.map((e) => [e.data.event_id ?? e.id, e]));
  const typeOf = (id: unknown) => (typeof id === 'string' ? short(byId.get(id)?.type ?? '') : '');
  const of = (t: string) => events.filter((e) => short(e.type) === t);
  const models = of('model.invocation').map((e) => ({
    pid: e.data.process?.pid,
    model_id: e.data.model_id,
    output_hash: e.data.output_hash ?? null,
    prompt_token_count: e.data.prompt_token_count,
    output_token_count: e.data.output_token_count,
    tools_requested: ((e.data.tools_requested ?? []) as Array<{ name: string }>).map((x) => x.name).sort(),
  }));
  const tools = of('tool.invocation').map((e) => ({
    pid: e.data.process?.pid,
    tool_name: e.data.tool_name,
    param_schema: e.data.param_schema,
    return_status: e.data.return_status,
    return_size: e.data.return_size,
    return_hash: e.data.return_hash,
    triggered_by_model: typeOf(e.data.triggering_event_id) === 'model.invocation',
  }));
  const data = of('data.access')
    .filter((e) => typeof e.data.resource_uri === 'string' && e.data.resource_uri.startsWith(dataPrefix))
    .map((e) => ({
      pid: e.data.process?.pid,
      resource_uri: e.data.resource_uri,
      access_mode: e.data.access_mode,
      byte_count: e.data.byte_count,
      triggered_by_tool: typeOf(e.data.triggering_event_id) === 'tool.invocation',
    }));
  const errors = of('error').map((e) => ({ pid: e.data.process?.pid, kind: errorKind(e.data) }));
  return { counts, models: models.sort(cmp), tools: tools.sort(cmp), data: data.sort(cmp), errors: errors.sort(cmp) };
}
