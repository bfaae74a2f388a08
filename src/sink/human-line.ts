import type { CloudEvent } from '../contracts/envelope.js';

/**
 * `agentrail tail` without --json: one line per event saying what happened, for a person reading
 * an incident: time, type, process, then what the event is about (model, tool, resource, decision),
 * bytes, sensitivity tags and outcome. Only fields the event carries: hashes, counts, shapes, tags.
 */
const TYPE_PREFIX = 'dev.agentrail.';

type D = Record<string, any>;

function bytes(n: unknown): string {
  const v = Number(n);
  if (!Number.isFinite(v)) return '';
  return v >= 1048576 ? `${(v / 1048576).toFixed(1)}MiB` : v >= 1024 ? `${(v / 1024).toFixed(1)}KiB` : `${v}B`;
}

function tags(t: unknown): string {
  return Array.isArray(t) && t.length ? ` [${t.join(',')}]` : '';
}

function what(type: string, d: D): string {
  switch (type) {
    case 'model.invocation': {
      const tools = (d.tools_requested ?? []).map((t: D) => t.name).join(',');
      return `model=${d.model_id} ${d.provider ?? ''}/${d.operation ?? ''} in=${d.prompt_token_count}tok out=${d.output_token_count}tok${tools ? ` → tools=${tools}` : ''}${d.finish_reason ? ` finish=${d.finish_reason}` : ''}${d.input_complete === false ? ' INPUT-CUT' : ''}${tags(d.input_sensitivity)}${(d.policy_interventions ?? []).length ? ` policy=${d.policy_interventions.length}` : ''}`;
    }
    case 'tool.invocation':
      return `tool=${d.tool_name} target=${d.target ?? '?'}${d.mcp_server ? ` mcp=${d.mcp_server.name ?? d.mcp_server}` : ''}${d.return_size !== undefined ? ` returned=${bytes(d.return_size)}` : ''}${tags(d.param_sensitivity)}`;
    case 'data.access': {
      const n = d.network;
      const dir = d.resource_type === 'socket' ? ` out=${bytes(d.bytes_written)} in=${bytes(d.bytes_read)} plaintext=${n?.plaintext ?? '?'}` : ` ${bytes(d.byte_count)}`;
      return `${d.access_mode} ${d.resource_uri}${dir}${tags(d.sensitivity_tags_resolved)}`;
    }
    case 'policy.decision':
      return `${String(d.decision).toUpperCase()} ${d.policy_id} severity=${d.severity ?? '?'} ${d.enforcement ?? ''} on=${d.evaluated_event_id ?? '-'}${d.overridden ? ' OVERRIDDEN' : ''}`;
    case 'identity.assertion':
      return `${d.credential_type}${d.service_account ? ` sa=${d.service_account}` : ''}${d.federated_identity ? ` fed=${d.federated_identity}` : ''}${d.key_id_hash ? ` key=${String(d.key_id_hash).slice(0, 24)}…` : ''}${d.within_granted_scope === false ? ' OUTSIDE-GRANTED-SCOPE' : ''}`;
    case 'error':
      return `${d.error_class}${d.http_status ? ` http=${d.http_status}` : ''}${d.errno ? ` errno=${d.errno}` : ''}${d.exit_code !== null && d.exit_code !== undefined ? ` exit=${d.exit_code}` : ''}${d.signal ? ` signal=${d.signal}` : ''}`;
    case 'log.gap':
      return `${d.reason} lost=${d.lostLines ?? d.lostEvents ?? '?'}${d.quarantineFile ? ` kept=${d.quarantineFile}` : ''}`;
    case 'log.checkpoint':
      return `treesize=${d.treesize}`;
    case 'sensor.start':
    case 'sensor.stop':
      return `${d.reason ?? ''}`;
    default:
      return '';
  }
}

export function humanLine(ev: CloudEvent): string {
  const type = ev.type.startsWith(TYPE_PREFIX) ? ev.type.slice(TYPE_PREFIX.length) : ev.type;
  const d = (ev.data ?? {}) as D;
  const p = d.process as D | undefined;
  const proc = p ? `${p.comm ?? '?'}[${p.pid}]` : '-';
  const outcome = d.outcome?.status && d.outcome.status !== 'SUCCESS' ? ` ${d.outcome.status}` : '';
  return `${ev.time}  ${type.padEnd(18)}  ${proc.padEnd(16)}  ${what(type, d)}${outcome}  #${ev.sequence ?? '-'}`;
}
