import type { ParamSchema } from '../contracts/agent-fields.js';
import { keyedHex } from './keyed-hash.js';
import { Classifier, looksLikePath, sortedTags } from '../classify/classifier.js';

/**
 * The shape of a value as a JSON Schema fragment: types and structure, never
 * values. `{path: "/etc/x"}` → `{"type":"object","properties":{"path":{"type":"string","format":"path"}}}`.
 * With a classifier, a leaf that carries sensitive content gets `x-sensitivity`
 * (the tags, resolved now). Property names that are themselves sensitive
 * (an email used as a key) are replaced by `~key:<hash prefix>`.
 */

const MAX_DEPTH = 8;
const MAX_PROPS = 64;
const MAX_ITEMS_SAMPLED = 16;

export function paramSchema(v: unknown, cls?: Classifier, depth = 0): ParamSchema {
  if (v === null) return { type: 'null' };
  if (v === undefined) return {};
  if (depth >= MAX_DEPTH) return { type: typeOf(v) };
  if (typeof v === 'string') {
    const s: ParamSchema = { type: 'string' };
    const fmt = formatOf(v);
    if (fmt) s.format = fmt;
    if (cls) {
      const tags = cls.text(v);
      if (looksLikePath(v)) cls.path(v, tags);
      if (tags.size) s['x-sensitivity'] = sortedTags(tags);
    }
    return s;
  }
  if (typeof v === 'number') return { type: Number.isInteger(v) ? 'integer' : 'number' };
  if (typeof v === 'boolean') return { type: 'boolean' };
  if (Array.isArray(v)) {
    const s: ParamSchema = { type: 'array' };
    if (v.length) {
      const items = v.slice(0, MAX_ITEMS_SAMPLED).map((x) => paramSchema(x, cls, depth + 1));
      s.items = mergeSchemas(items);
    }
    return s;
  }
  if (typeof v === 'object') {
    const props: Record<string, ParamSchema> = {};
    const keys = Object.keys(v as object);
    for (const k of keys.slice(0, MAX_PROPS)) props[safeKey(k, cls)] = paramSchema((v as Record<string, unknown>)[k], cls, depth + 1);
    const s: ParamSchema = { type: 'object', properties: props };
    if (keys.length > MAX_PROPS) s['x-omitted-properties'] = keys.length - MAX_PROPS;
    return s;
  }
  return { type: typeOf(v) };
}

function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v === 'bigint' ? 'integer' : typeof v;
}

function formatOf(s: string): string | undefined {
  if (/^[a-z][a-z0-9+.-]*:\/\/[^\s]+$/i.test(s)) return 'uri';
  if (looksLikePath(s)) return 'path';
  if (/^\d{4}-\d{2}-\d{2}(?:[T ][\d:.]+(?:Z|[+-]\d{2}:?\d{2})?)?$/.test(s)) return 'date-time';
  return undefined;
}

function safeKey(k: string, cls?: Classifier): string {
  // Control and format characters in a key an agent or server chose are markup, not shape.
  const sensitive = k.length > 64 || /[\p{Cc}\p{Cf}]/u.test(k) || (cls !== undefined && cls.text(k).size > 0);
  return sensitive ? `~key:${keyedHex('param-key', k).slice(0, 16)}` : k;
}

function mergeSchemas(xs: ParamSchema[]): ParamSchema {
  const uniq = new Map<string, ParamSchema>();
  for (const x of xs) uniq.set(JSON.stringify(x), x);
  const list = [...uniq.values()];
  return list.length === 1 ? list[0]! : { anyOf: list };
}
