import { EcsFlat } from '@elastic/ecs';

/**
 * An ECS document against Elastic's published field definitions (npm @elastic/ecs, EcsFlat): every
 * field outside `agentrail.*` (the product's own namespace, as ECS advises) must be an ECS field,
 * of its type, with an allowed value where ECS lists them. Returns the violations (empty = valid).
 */
function flatten(o: Record<string, unknown>, prefix = '', out: Record<string, unknown> = {}): Record<string, unknown> {
  for (const [k, v] of Object.entries(o)) {
    const name = prefix ? `${prefix}.${k}` : k;
    if (v && typeof v === 'object' && !Array.isArray(v)) flatten(v as Record<string, unknown>, name, out);
    else if (v !== undefined) out[name] = v;
  }
  return out;
}

const ECS_TYPES: Record<string, (v: unknown) => boolean> = {
  keyword: (v) => typeof v === 'string', constant_keyword: (v) => typeof v === 'string', wildcard: (v) => typeof v === 'string',
  match_only_text: (v) => typeof v === 'string', text: (v) => typeof v === 'string', date: (v) => typeof v === 'string' && !Number.isNaN(Date.parse(v)),
  long: (v) => Number.isInteger(v), integer: (v) => Number.isInteger(v), float: (v) => typeof v === 'number', scaled_float: (v) => typeof v === 'number',
  ip: (v) => typeof v === 'string', boolean: (v) => typeof v === 'boolean',
};
const ecs = EcsFlat as unknown as Record<string, { type: string; allowed_values?: Array<{ name: string }> }>;

export function ecsViolations(doc: Record<string, unknown>): string[] {
  const out: string[] = [];
  for (const [field, v] of Object.entries(flatten(doc))) {
    if (field.startsWith('agentrail.')) continue;
    const def = ecs[field];
    if (!def) {
      out.push(`ECS has no field ${field}`);
      continue;
    }
    const check = ECS_TYPES[def.type];
    if (!check) {
      out.push(`unhandled ECS type ${def.type} for ${field}`);
      continue;
    }
    for (const x of Array.isArray(v) ? v : [v]) {
      if (!check(x)) out.push(`${field}=${JSON.stringify(x)} is not ECS ${def.type}`);
      else if (def.allowed_values && !def.allowed_values.some((a) => a.name === x)) out.push(`${field}=${String(x)} not an allowed ECS value`);
    }
  }
  return out;
}
