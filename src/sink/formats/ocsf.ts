import type { CloudEvent } from '../../contracts/envelope.js';
import { evidenceLink, field, num, shortType, str, urlParts } from './link.js';

/**
 * OCSF 1.8 records from sealed CloudEvents. Class choice (docs/siem.md has the field table):
 * model/tool calls → API Activity (6003) with the ai_operation profile on model calls; file
 * data.access → File System Activity (1001); url/socket data.access → Network Activity (4001);
 * execute → Process Activity (1007); policy flag/deny → Detection Finding (2004); identity
 * assertion → Authentication (3002); anything else (errors, sensor records) → API Activity
 * "Other". metadata.uid is the event id; unmapped carries sequence and leaf hash.
 */
export const OCSF_VERSION = '1.8.0';

type Rec = Record<string, unknown>;

const FILE_ACTIVITY: Record<string, number> = { create: 1, read: 2, write: 3, rename: 5, delete: 4, chmod: 6, truncate: 3, read_write: 3, mkdir: 1 };
/** The schema's captions for File System Activity activity_id (activity_name must match). */
const FILE_ACTIVITY_NAME: Record<number, string> = { 1: 'Create', 2: 'Read', 3: 'Update', 4: 'Delete', 5: 'Rename', 6: 'Set Attributes' };

/** The sensor's host from the CloudEvents source agentrail://<host>/<sensor>. */
function sensorHost(ev: CloudEvent): string {
  return /^agentrail:\/\/([^/]+)/.exec(ev.source)?.[1] ?? ev.source;
}
/** System Activity classes require the device the activity happened on; type 0 Unknown. */
const device = (ev: CloudEvent): Rec => ({ hostname: sensorHost(ev), type_id: 0 });

function base(ev: CloudEvent, cls: { uid: number; name: string; category_uid: number; category_name: string }, activity_id: number, activity_name: string, profiles: string[] = []): Rec {
  const link = evidenceLink(ev);
  const d = ev.data as Rec;
  const ok = field(d, 'outcome', 'status');
  return {
    class_uid: cls.uid,
    class_name: cls.name,
    category_uid: cls.category_uid,
    category_name: cls.category_name,
    activity_id,
    activity_name,
    type_uid: cls.uid * 100 + activity_id,
    severity_id: 1,
    severity: 'Informational',
    status_id: ok === 'SUCCESS' ? 1 : ok === 'FAILURE' ? 2 : 0,
    time: Date.parse(ev.time),
    metadata: {
      version: OCSF_VERSION,
      uid: ev.id,
      correlation_uid: str(field(d, 'trace_id')) ?? ev.partitionkey,
      product: { name: 'agentrail', vendor_name: 'agentrail', uid: ev.source },
      ...(profiles.length ? { profiles } : {}),
      log_name: shortType(ev.type),
    },
    actor: actor(d),
    ...(cls.uid === 6003 ? { src_endpoint: { hostname: sensorHost(ev) } } : {}),
    unmapped: { sequence: link.sequence, leaf_hash: link.leaf_hash, source: link.source, type: link.type },
  };
}

function actor(d: Rec): Rec {
  const p = field(d, 'process') as Rec | null | undefined;
  const out: Rec = { app_name: str(field(d, 'agent', 'id')) ?? str(d['workload_id']) ?? 'unknown', session: { uid: str(field(d, 'agent', 'session_id')) ?? str(d['agent_session_id']) ?? 'unknown' } };
  if (p && typeof p === 'object') out['process'] = processObj(p);
  return out;
}

function processObj(p: Rec): Rec {
  const o: Rec = { pid: num(p['pid']) };
  if (str(p['comm'])) o['name'] = p['comm'];
  if (str(p['exe'])) o['file'] = { path: p['exe'], name: String(p['exe']).split('/').pop(), type_id: 1 };
  if (num(p['uid']) !== undefined) o['user'] = { uid: String(p['uid']) };
  if (num(p['ppid']) !== undefined) o['parent_process'] = { pid: p['ppid'] };
  return o;
}

const API = { uid: 6003, name: 'API Activity', category_uid: 6, category_name: 'Application Activity' };
const FILE = { uid: 1001, name: 'File System Activity', category_uid: 1, category_name: 'System Activity' };
const PROC = { uid: 1007, name: 'Process Activity', category_uid: 1, category_name: 'System Activity' };
const NET = { uid: 4001, name: 'Network Activity', category_uid: 4, category_name: 'Network Activity' };
const FIND = { uid: 2004, name: 'Detection Finding', category_uid: 2, category_name: 'Findings' };
const AUTH = { uid: 3002, name: 'Authentication', category_uid: 3, category_name: 'Identity & Access Management' };

export function toOcsf(ev: CloudEvent): Rec {
  const d = ev.data as Rec;
  switch (shortType(ev.type)) {
    case 'model.invocation': {
      const r = base(ev, API, 99, 'Other', ['ai_operation']);
      const srv = urlParts(d['server']) ?? (str(d['server']) ? { host: String(d['server']) } : undefined);
      r['api'] = { operation: str(d['operation']) ?? 'model.invocation', service: { name: str(d['provider']) ?? 'unknown' } };
      if (srv?.host) r['dst_endpoint'] = { hostname: srv.host };
      r['ai_model'] = { name: str(d['model_id']) ?? 'unknown', ai_provider: str(d['provider']) ?? 'unknown' };
      r['message_context'] = {
        prompt_token_count: num(d['prompt_token_count']),
        completion_token_count: num(d['output_token_count']),
        total_token_count: (num(d['prompt_token_count']) ?? 0) + (num(d['output_token_count']) ?? 0),
      };
      return r;
    }
    case 'tool.invocation': {
      const r = base(ev, API, 99, 'Other');
      r['api'] = { operation: str(d['tool_name']) ?? 'unknown', service: { name: str(field(d, 'mcp_server', 'name')) ?? str(d['transport']) ?? 'local' } };
      return r;
    }
    case 'data.access': {
      const mode = str(d['access_mode']) ?? 'read';
      const uri = urlParts(d['resource_uri']);
      if (mode === 'execute') {
        const r = base(ev, PROC, 1, 'Launch');
        r['device'] = device(ev);
        r['process'] = { file: { path: uri?.path ?? String(d['resource_uri']), name: (uri?.path ?? '').split('/').pop() ?? '', type_id: 1 } };
        return r;
      }
      if (d['resource_type'] === 'file') {
        const id = FILE_ACTIVITY[mode] ?? 99;
        const r = base(ev, FILE, id, FILE_ACTIVITY_NAME[id] ?? 'Other');
        r['device'] = device(ev);
        r['file'] = { path: uri?.path ?? String(d['resource_uri']), name: (uri?.path ?? '').split('/').pop() ?? '', type_id: 1, size: num(d['byte_count']) };
        return r;
      }
      // actor (the process) is a host-profile attribute on Network Activity.
      const r = base(ev, NET, mode === 'connect' ? 1 : 6, mode === 'connect' ? 'Open' : 'Traffic', ['host']);
      r['dst_endpoint'] = { hostname: uri?.host, port: uri?.port };
      r['traffic'] = { bytes_in: num(d['bytes_read']) ?? 0, bytes_out: num(d['bytes_written']) ?? 0 };
      if (uri) r['url'] = { url_string: uri.full, hostname: uri.host, path: uri.path, scheme: uri.scheme };
      return r;
    }
    case 'policy.decision': {
      const decision = str(d['decision']) ?? 'flag';
      // action/disposition come with the security_control profile, actor with host.
      const r = base(ev, FIND, 1, 'Create', ['security_control', 'host']);
      r['severity_id'] = decision === 'deny' ? 4 : decision === 'flag' ? 3 : 1;
      r['severity'] = decision === 'deny' ? 'High' : decision === 'flag' ? 'Medium' : 'Informational';
      r['finding_info'] = { uid: ev.id, title: str(d['policy_id']) ?? 'policy', desc: str(d['rule_fired']), related_events: str(d['evaluated_event_id']) ? [{ uid: d['evaluated_event_id'] }] : [] };
      r['action_id'] = decision === 'deny' ? 2 : 1;
      r['action'] = decision === 'deny' ? 'Denied' : 'Allowed';
      // allow → Allowed (1), deny → Blocked (2), flag → Detected (15): the OCSF disposition enum.
      r['disposition_id'] = decision === 'deny' ? 2 : decision === 'flag' ? 15 : 1;
      r['disposition'] = decision === 'deny' ? 'Blocked' : decision === 'flag' ? 'Detected' : 'Allowed';
      return r;
    }
    case 'identity.assertion': {
      const r = base(ev, AUTH, 99, 'Other');
      r['auth_protocol'] = str(d['credential_type']);
      r['user'] = { name: str(d['service_account']) ?? str(d['federated_identity']), uid: num(d['uid']) !== undefined ? String(d['uid']) : undefined };
      if (str(d['audience_host'])) r['dst_endpoint'] = { hostname: d['audience_host'] };
      if (d['within_granted_scope'] === false) r['status_detail'] = 'outside granted scope';
      return r;
    }
    default: {
      const r = base(ev, API, 99, 'Other');
      r['api'] = { operation: shortType(ev.type) };
      return r;
    }
  }
}
