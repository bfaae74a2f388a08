import { EcsFlat } from '@elastic/ecs';

/**
 * The OpenSearch index template for agentrail's ECS documents, generated from Elastic's published
 * field definitions (npm @elastic/ecs, EcsFlat) instead of a hand-copied mapping, for the ECS field
 * sets that src/sink/formats/ecs.ts writes. Elasticsearch-only field types are translated to their
 * OpenSearch equivalents; agentrail.* (the evidence link) is mapped here because ECS leaves custom
 * fields to the product.
 */

export const INDEX_PATTERN = 'agentrail-ecs*';
export const DEFAULT_INDEX = 'agentrail-ecs';
export const TEMPLATE_NAME = 'agentrail-ecs';

/** The top-level ECS field sets the ECS mapper emits (plus @timestamp). */
export const ECS_FIELD_SETS = ['@timestamp', 'ecs', 'event', 'observer', 'trace', 'process', 'user', 'gen_ai', 'url', 'file', 'destination', 'rule'] as const;

interface EcsField {
  flat_name: string;
  type: string;
  ignore_above?: number;
  index?: boolean;
  doc_values?: boolean;
  scaling_factor?: number;
  multi_fields?: Array<{ name: string; type: string }>;
}

type Mapping = Record<string, unknown>;

/** agentrail.* as src/sink/formats/ecs.ts writes it (the product's own namespace; ECS has no definitions for it). */
const AGENTRAIL_FIELDS: Record<string, 'keyword' | 'long'> = {
  sequence: 'keyword',
  leaf_hash: 'keyword',
  source: 'keyword',
  type: 'keyword',
  agent_id: 'keyword',
  session_id: 'keyword',
  instruction_hash: 'keyword',
  requested_by: 'keyword',
  tool_result_event_ids: 'keyword',
  resource_uri: 'keyword',
  resource_type: 'keyword',
  access_mode: 'keyword',
  bytes_read: 'long',
  bytes_written: 'long',
  credential_type: 'keyword',
  key_id_hash: 'keyword',
  uid: 'long',
  request_hash: 'keyword',
  response_hash: 'keyword',
  content_hash: 'keyword',
  return_hash: 'keyword',
  output_hash: 'keyword',
  output_text_hash: 'keyword',
  input_hash: 'keyword',
  hashes: 'keyword',
};

/** ES type → OpenSearch 2.19 type (flattened is flat_object there; scaled_float lives in a module we do not load). */
function osType(t: string): string {
  switch (t) {
    case 'flattened':
      return 'flat_object';
    case 'scaled_float':
      return 'double';
    case 'constant_keyword':
      return 'keyword';
    default:
      return t;
  }
}

function leafMapping(f: EcsField): Mapping {
  const type = osType(f.type);
  const m: Mapping = { type };
  if (type === 'keyword' && f.ignore_above) m['ignore_above'] = f.ignore_above;
  if (f.index === false && type !== 'flat_object') m['index'] = false;
  if (f.doc_values === false && type !== 'flat_object') m['doc_values'] = false;
  if (f.multi_fields?.length && type !== 'flat_object') {
    m['fields'] = Object.fromEntries(f.multi_fields.map((mf) => [mf.name, { type: osType(mf.type) }]));
  }
  return m;
}

/** Insert a dotted field into a nested `properties` tree. */
function insert(root: Mapping, flat: string, leaf: Mapping): void {
  const parts = flat.split('.');
  let node = root;
  for (const [i, p] of parts.entries()) {
    const props = (node['properties'] ??= {}) as Record<string, Mapping>;
    if (i === parts.length - 1) {
      // An object/nested field may already hold children: keep them, take its type.
      props[p] = props[p]?.['properties'] ? { ...leaf, properties: props[p]!['properties'] } : { ...(props[p] ?? {}), ...leaf };
      return;
    }
    props[p] ??= { type: 'object' };
    node = props[p]!;
  }
}

export function ecsMappings(sets: readonly string[] = ECS_FIELD_SETS): Mapping {
  const root: Mapping = { dynamic: true, properties: {} };
  const fields = Object.values(EcsFlat as unknown as Record<string, EcsField>).filter((f) => sets.includes(f.flat_name.split('.')[0]!));
  // Parents before children, so object fields never overwrite a subtree.
  fields.sort((a, b) => a.flat_name.split('.').length - b.flat_name.split('.').length);
  for (const f of fields) {
    if (f.type === 'object' || f.type === 'nested') insert(root, f.flat_name, { type: f.type });
    else insert(root, f.flat_name, leafMapping(f));
  }
  // dynamic: strict under agentrail.*, so a new field in the mapper without a mapping fails the e2e test.
  insert(root, 'agentrail', { type: 'object', dynamic: 'strict' });
  for (const [k, type] of Object.entries(AGENTRAIL_FIELDS)) insert(root, `agentrail.${k}`, type === 'keyword' ? { type, ignore_above: 1024 } : { type });
  return root;
}

/** The composable index template body (PUT _index_template/agentrail-ecs). */
export function indexTemplate(): Mapping {
  return {
    index_patterns: [INDEX_PATTERN],
    priority: 200,
    template: {
      settings: { number_of_shards: 1, number_of_replicas: 0, 'mapping.total_fields.limit': 2000 },
      mappings: ecsMappings(),
    },
    _meta: { description: 'agentrail agent-action log as ECS documents; _id = CloudEvents id', ecs_version: '9.1.0' },
  };
}
