import type { Client } from '@opensearch-project/opensearch';

/**
 * The five questions of an incident review (docs/investigate.md) as OpenSearch queries over the
 * ECS index that `agentrail index` fills. The bodies are plain Query DSL so a team can paste them
 * into Dev Tools or save them (docs/siem.md lists them); answerAll() runs them for the CLI and tests.
 * Order is @timestamp then event.id (ULIDs sort in sealing order within a millisecond).
 */

type Body = Record<string, unknown>;
const ORDER = [{ '@timestamp': 'asc' }, { 'event.id': 'asc' }];
const EGRESS_TYPES = ['socket', 'url', 'object'];
const MAX = 10_000;

const action = (a: string) => ({ term: { 'event.action': a } });

export const QUERIES = {
  /** Q1 what triggered it: the first model call of each agent session and its instruction hash. */
  q1_triggering_input: (): Body => ({
    size: 0,
    query: action('model.invocation'),
    aggs: {
      sessions: {
        terms: { field: 'agentrail.session_id', size: MAX },
        aggs: { first: { top_hits: { size: 1, sort: ORDER, _source: ['event.id', 'gen_ai.request.model', 'agentrail.instruction_hash', 'agentrail.session_id', 'trace.id'] } } },
      },
    },
  }),
  /** Q2 which tools ran, in order, each with the model call that requested it and its return hash. */
  q2_tools: (): Body => ({
    size: MAX,
    query: action('tool.invocation'),
    sort: ORDER,
    _source: ['event.id', '@timestamp', 'gen_ai.tool.name', 'agentrail.requested_by', 'agentrail.return_hash', 'event.outcome'],
  }),
  /** Q3 what data it touched: every resource with access count and bytes. */
  q3_data: (): Body => ({
    size: 0,
    query: action('data.access'),
    aggs: {
      resources: {
        terms: { field: 'agentrail.resource_uri', size: MAX },
        aggs: { bytes_read: { sum: { field: 'agentrail.bytes_read' } }, bytes_written: { sum: { field: 'agentrail.bytes_written' } }, modes: { terms: { field: 'agentrail.access_mode' } } },
      },
    },
  }),
  /** Q4a where data went: network destinations with bytes out/in and the hashes of what was sent. */
  q4_egress: (): Body => ({
    size: 0,
    query: { bool: { filter: [action('data.access'), { terms: { 'agentrail.resource_type': EGRESS_TYPES } }] } },
    aggs: {
      destinations: {
        terms: { field: 'agentrail.resource_uri', size: MAX },
        aggs: {
          bytes_out: { sum: { field: 'agentrail.bytes_written' } },
          bytes_in: { sum: { field: 'agentrail.bytes_read' } },
          request_hashes: { terms: { field: 'agentrail.request_hash', size: MAX } },
        },
      },
    },
  }),
  /** Q4b where one artifact went: every event carrying its content hash (sha256:<hex>). */
  q4_artifact: (sha256: string): Body => ({
    size: MAX,
    query: { term: { 'agentrail.hashes': sha256 } },
    sort: ORDER,
    _source: ['event.id', 'event.action', 'agentrail.resource_uri', 'gen_ai.tool.name', 'agentrail.sequence'],
  }),
  /** Q4c the model requests that carried those tool results back to the model. */
  q4_artifact_carriers: (toolEventIds: string[]): Body => ({
    size: MAX,
    query: { bool: { filter: [action('model.invocation'), { terms: { 'agentrail.tool_result_event_ids': toolEventIds } }] } },
    sort: ORDER,
    _source: ['event.id', 'gen_ai.request.model'],
  }),
  /** Q5 under whose identity: process, uid and the (keyed) credential presented. */
  q5_identity: (): Body => ({
    size: MAX,
    query: action('identity.assertion'),
    sort: ORDER,
    _source: ['event.id', 'process.pid', 'agentrail.uid', 'agentrail.credential_type', 'agentrail.key_id_hash', 'user.name', 'destination.domain'],
  }),
};

export interface SiemAnswers {
  q1_triggering_input: Array<{ event_id: string; session_id: string; model: string | null; instruction_hash: string | null }>;
  q2_tools: Array<{ event_id: string; tool: string; requested_by: string | null; return_hash: string | null }>;
  q3_data: Array<{ resource: string; accesses: number; bytes_read: number; bytes_written: number; modes: string[] }>;
  q4_egress: {
    destinations: Array<{ resource: string; events: number; bytes_out: number; bytes_in: number; request_hashes: string[] }>;
    artifacts: Array<{ sha256: string; found: Array<{ event_id: string; type: string; resource: string | null }> }>;
  };
  q5_identity: Array<{ event_id: string; pid: number | null; uid: number | null; credential_type: string | null; key_id_hash: string | null }>;
}

type Src = Record<string, any>;
type Bucket = { key: string; doc_count: number } & Record<string, any>;

async function search(client: Client, index: string, body: Body): Promise<{ hits: Src[]; aggs: Record<string, { buckets: Bucket[] }> }> {
  const res = await client.search({ index, body: body as never });
  const b = res.body as unknown as { hits: { hits: Array<{ _source: Src }> }; aggregations?: Record<string, { buckets: Bucket[] }> };
  return { hits: b.hits.hits.map((h) => h._source), aggs: b.aggregations ?? {} };
}

export async function answerAll(client: Client, index: string, artifacts: string[] = []): Promise<SiemAnswers> {
  const q1 = await search(client, index, QUERIES.q1_triggering_input());
  const q2 = await search(client, index, QUERIES.q2_tools());
  const q3 = await search(client, index, QUERIES.q3_data());
  const q4 = await search(client, index, QUERIES.q4_egress());
  const q5 = await search(client, index, QUERIES.q5_identity());
  const arts: SiemAnswers['q4_egress']['artifacts'] = [];
  for (const sha256 of artifacts) {
    const hits = (await search(client, index, QUERIES.q4_artifact(sha256))).hits;
    const found = hits.map((h) => ({ event_id: h['event'].id as string, type: h['event'].action as string, resource: (h['agentrail']?.resource_uri ?? h['gen_ai']?.tool?.name ?? null) as string | null }));
    const tools = found.filter((f) => f.type === 'tool.invocation').map((f) => f.event_id);
    if (tools.length > 0) {
      for (const h of (await search(client, index, QUERIES.q4_artifact_carriers(tools))).hits) found.push({ event_id: h['event'].id, type: 'model.invocation', resource: h['gen_ai']?.request?.model ?? null });
    }
    arts.push({ sha256, found });
  }
  return {
    q1_triggering_input: (q1.aggs['sessions']?.buckets ?? [])
      .map((b) => b['first'].hits.hits[0]._source as Src)
      .sort((a, b) => (a['event'].id < b['event'].id ? -1 : 1))
      .map((s) => ({ event_id: s['event'].id, session_id: s['agentrail'].session_id, model: s['gen_ai']?.request?.model ?? null, instruction_hash: s['agentrail'].instruction_hash ?? null })),
    q2_tools: q2.hits.map((s) => ({ event_id: s['event'].id, tool: s['gen_ai']?.tool?.name, requested_by: s['agentrail']?.requested_by ?? null, return_hash: s['agentrail']?.return_hash ?? null })),
    q3_data: (q3.aggs['resources']?.buckets ?? []).map((b) => ({
      resource: b.key,
      accesses: b.doc_count,
      bytes_read: b['bytes_read'].value,
      bytes_written: b['bytes_written'].value,
      modes: (b['modes'].buckets as Bucket[]).map((m) => m.key).sort(),
    })),
    q4_egress: {
      destinations: (q4.aggs['destinations']?.buckets ?? []).map((b) => ({
        resource: b.key,
        events: b.doc_count,
        bytes_out: b['bytes_out'].value,
        bytes_in: b['bytes_in'].value,
        request_hashes: (b['request_hashes'].buckets as Bucket[]).map((h) => h.key).sort(),
      })),
      artifacts: arts,
    },
    q5_identity: q5.hits.map((s) => ({
      event_id: s['event'].id,
      pid: s['process']?.pid ?? null,
      uid: s['agentrail']?.uid ?? null,
      credential_type: s['agentrail']?.credential_type ?? null,
      key_id_hash: s['agentrail']?.key_id_hash ?? null,
    })),
  };
}
