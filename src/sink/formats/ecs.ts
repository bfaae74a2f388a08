import type { CloudEvent } from '../../contracts/envelope.js';
import { evidenceLink, field, num, shortType, str, urlParts } from './link.js';

/**
 * ECS 9.x documents from sealed CloudEvents (gen_ai.* fields are beta in ECS since 9.1).
 * event.id is the event id, so a SIEM document id can be the same value; agentrail.* keeps
 * sequence and leaf hash (custom fields live under the product's own name, as ECS advises).
 */
export const ECS_VERSION = '9.1.0';

type Rec = Record<string, unknown>;

const CATEGORY: Record<string, { category: string[]; type: string[] }> = {
  'model.invocation': { category: ['api'], type: ['access'] },
  'tool.invocation': { category: ['api'], type: ['access'] },
  'policy.decision': { category: ['intrusion_detection'], type: ['info'] },
  'identity.assertion': { category: ['authentication'], type: ['info'] },
  error: { category: ['api'], type: ['error'] },
};

/** Content-hash fields of the sealed data (the same list `agentrail investigate --artifact` searches). */
const HASH_FIELDS = ['request_hash', 'response_hash', 'content_hash', 'return_hash', 'output_hash', 'output_text_hash', 'input_hash'];

/**
 * What the five questions need in a SIEM and ECS has no field for: session, cause and links, the
 * resource as sealed, byte counts, and every content hash in one keyword array (`agentrail.hashes`),
 * so "where did this file go" is one term query. Hashes, ids and counts only, as sealed.
 */
function investigation(d: Rec): Rec {
  const out: Rec = {};
  const put = (k: string, v: unknown) => {
    if (v !== undefined && v !== null && !(Array.isArray(v) && v.length === 0)) out[k] = v;
  };
  put('session_id', str(d['agent_session_id']));
  put('instruction_hash', str(field(d, 'cause', 'instruction_hash')));
  put('requested_by', str(field(d, 'cause', 'event_id')) ?? str(d['triggering_event_id']));
  put('tool_result_event_ids', Array.isArray(d['tool_result_event_ids']) ? d['tool_result_event_ids'].filter((x) => typeof x === 'string') : undefined);
  put('resource_uri', str(d['resource_uri']));
  put('resource_type', str(d['resource_type']));
  put('access_mode', str(d['access_mode']));
  put('bytes_read', num(d['bytes_read']));
  put('bytes_written', num(d['bytes_written']));
  put('credential_type', str(d['credential_type']));
  put('key_id_hash', str(d['key_id_hash']));
  put('uid', num(d['uid']));
  const hashes: string[] = [];
  for (const f of HASH_FIELDS) {
    const v = str(d[f]);
    if (v) {
      out[f] = v;
      if (!hashes.includes(v)) hashes.push(v);
    }
  }
  for (const t of Array.isArray(d['tools_requested']) ? (d['tools_requested'] as Rec[]) : []) {
    const v = str(t?.['arguments_hash']);
    if (v && !hashes.includes(v)) hashes.push(v);
  }
  put('hashes', hashes);
  return out;
}

export function toEcs(ev: CloudEvent): Rec {
  const d = ev.data as Rec;
  const t = shortType(ev.type);
  const link = evidenceLink(ev);
  const status = field(d, 'outcome', 'status');
  const doc: Rec = {
    '@timestamp': ev.time,
    ecs: { version: ECS_VERSION },
    event: {
      id: ev.id,
      kind: t === 'policy.decision' ? 'alert' : 'event',
      action: t,
      dataset: `agentrail.${t}`,
      module: 'agentrail',
      outcome: status === 'SUCCESS' ? 'success' : status === 'FAILURE' ? 'failure' : 'unknown',
      ...(CATEGORY[t] ?? {}),
    },
    observer: { product: 'agentrail', vendor: 'agentrail', name: ev.source },
    agentrail: { sequence: link.sequence, leaf_hash: link.leaf_hash, source: link.source, type: link.type, agent_id: str(field(d, 'agent', 'id')) ?? null, ...investigation(d) },
  };
  const trace = str(d['trace_id']) ?? ev.partitionkey;
  if (trace) doc['trace'] = { id: trace };
  const p = d['process'] as Rec | null | undefined;
  if (p && typeof p === 'object') {
    doc['process'] = { pid: num(p['pid']), name: str(p['comm']), executable: str(p['exe']), ...(num(p['ppid']) !== undefined ? { parent: { pid: p['ppid'] } } : {}) };
    if (num(p['uid']) !== undefined) doc['user'] = { id: String(p['uid']) };
  }
  switch (t) {
    case 'model.invocation': {
      doc['gen_ai'] = {
        system: str(d['provider']),
        operation: { name: str(d['operation']) },
        request: { model: str(d['model_id']) },
        usage: { input_tokens: num(d['prompt_token_count']), output_tokens: num(d['output_token_count']) },
      };
      const srv = urlParts(d['server']);
      if (srv) doc['url'] = { full: srv.full, domain: srv.host, path: srv.path, scheme: srv.scheme };
      break;
    }
    case 'tool.invocation':
      doc['gen_ai'] = { tool: { name: str(d['tool_name']), call: { id: str(d['call_id']) } } };
      break;
    case 'data.access': {
      const u = urlParts(d['resource_uri']);
      const ev_ = doc['event'] as Rec;
      if (d['resource_type'] === 'file' || d['access_mode'] === 'execute') {
        ev_['category'] = [d['access_mode'] === 'execute' ? 'process' : 'file'];
        ev_['type'] = [d['access_mode'] === 'execute' ? 'start' : d['access_mode'] === 'read' ? 'access' : d['access_mode'] === 'delete' ? 'deletion' : 'change'];
        doc['file'] = { path: u?.path ?? String(d['resource_uri']), name: (u?.path ?? '').split('/').pop(), size: num(d['byte_count']) };
      } else {
        ev_['category'] = ['network'];
        ev_['type'] = ['connection'];
        if (u) {
          doc['url'] = { full: u.full, domain: u.host, path: u.path, scheme: u.scheme, ...(u.port ? { port: u.port } : {}) };
          doc['destination'] = { domain: u.host, ...(u.port ? { port: u.port } : {}), bytes: num(d['bytes_written']) };
        }
      }
      break;
    }
    case 'policy.decision':
      // rule.id is the rule that fired (e.g. AR-EXFIL-001, what Sigma rules select on); ruleset its pack.
      doc['rule'] = { id: str(d['rule_fired']) ?? str(d['policy_id']), name: str(d['rule_fired']) ?? str(d['policy_id']), ruleset: str(d['policy_id']) };
      (doc['event'] as Rec)['type'] = [d['decision'] === 'deny' ? 'denied' : 'info'];
      break;
    case 'identity.assertion':
      doc['user'] = { ...((doc['user'] as Rec) ?? {}), name: str(d['service_account']) ?? str(d['federated_identity']) };
      if (str(d['audience_host'])) doc['destination'] = { domain: d['audience_host'] };
      break;
  }
  return doc;
}
