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
    agentrail: { sequence: link.sequence, leaf_hash: link.leaf_hash, source: link.source, type: link.type, agent_id: str(field(d, 'agent', 'id')) ?? null },
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
      doc['rule'] = { id: str(d['policy_id']), name: str(d['rule_fired']) ?? str(d['policy_id']) };
      (doc['event'] as Rec)['type'] = [d['decision'] === 'deny' ? 'denied' : 'info'];
      break;
    case 'identity.assertion':
      doc['user'] = { ...((doc['user'] as Rec) ?? {}), name: str(d['service_account']) ?? str(d['federated_identity']) };
      if (str(d['audience_host'])) doc['destination'] = { domain: d['audience_host'] };
      break;
  }
  return doc;
}
