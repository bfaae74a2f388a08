import type { CloudEvent } from '../contracts/envelope.js';

/**
 * CloudEvents Kafka protocol binding (cloudevents/spec bindings/kafka-protocol-binding.md):
 *  - binary mode: every attribute except `data` and `datacontenttype` → header `ce_<name>`,
 *    `datacontenttype` → `content-type`, value = JSON of `data`;
 *  - structured mode: `content-type: application/cloudevents+json`, value = the whole event (JSON).
 * The record key is the `partitionkey` extension (the trace), else the `source` (one chain stays
 * on one partition).
 */
export type ContentMode = 'binary' | 'structured';
export const STRUCTURED_CT = 'application/cloudevents+json';

export interface KafkaRecord {
  key: string | null;
  value: Buffer;
  headers: Record<string, string>;
  timestamp?: string;
}

/** Encode one sealed event given as its canonical line. */
export function toKafkaRecord(line: string, mode: ContentMode): { record: KafkaRecord; event: CloudEvent } {
  const ev = JSON.parse(line) as CloudEvent;
  const key = typeof ev.partitionkey === 'string' ? ev.partitionkey : typeof ev.source === 'string' ? ev.source : null;
  const ts = Date.parse(ev.time);
  if (mode === 'structured') {
    return {
      event: ev,
      record: { key, value: Buffer.from(line, 'utf8'), headers: { 'content-type': STRUCTURED_CT }, ...(Number.isFinite(ts) ? { timestamp: String(ts) } : {}) },
    };
  }
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(ev)) {
    if (k === 'data' || k === 'data_base64') continue;
    if (k === 'datacontenttype') {
      headers['content-type'] = String(v);
      continue;
    }
    // Sealed attributes are strings (64-bit numbers travel as strings); other scalars are stringified.
    headers[`ce_${k}`] = typeof v === 'string' ? v : JSON.stringify(v);
  }
  // No default content-type: the rebuilt event must be byte-identical to the sealed one.
  return {
    event: ev,
    record: { key, value: Buffer.from(JSON.stringify(ev.data ?? null), 'utf8'), headers, ...(Number.isFinite(ts) ? { timestamp: String(ts) } : {}) },
  };
}

function headerString(v: unknown): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (Buffer.isBuffer(v)) return v.toString('utf8');
  if (Array.isArray(v)) return headerString(v[0]);
  return String(v);
}

/** Rebuild the CloudEvent from a record in either mode; undefined if it is not a CloudEvent. */
export function fromKafkaRecord(rec: { value: Buffer | null; headers?: Record<string, unknown> | undefined }): CloudEvent | undefined {
  const h: Record<string, string> = {};
  for (const [k, v] of Object.entries(rec.headers ?? {})) {
    const s = headerString(v);
    if (s !== undefined) h[k.toLowerCase()] = s;
  }
  const ct = h['content-type'] ?? '';
  if (ct.startsWith('application/cloudevents')) {
    if (!rec.value) return undefined;
    return JSON.parse(rec.value.toString('utf8')) as CloudEvent;
  }
  if (!h['ce_specversion']) return undefined;
  const ev: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(h)) if (k.startsWith('ce_')) ev[k.slice(3)] = v;
  if (ct) ev.datacontenttype = ct;
  if (rec.value) ev.data = JSON.parse(rec.value.toString('utf8'));
  return ev as unknown as CloudEvent;
}
