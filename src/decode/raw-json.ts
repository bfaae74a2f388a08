import { createHash } from 'node:crypto';
import type { RawEvent } from '../contracts/raw-event.js';

/**
 * One raw event as a JSON line for `agentrail run --raw`. 64-bit values are
 * strings. TLS and pipe payloads are NEVER printed as text: only their length
 * and SHA-256, unless `payload: true` (the --raw-payload debugging flag) adds
 * the bytes as base64 — which puts captured plaintext (prompts, API keys) on
 * the output, so it is for debugging on a test workload only.
 */
export function rawEventToJson(ev: RawEvent, opts: { payload?: boolean } = {}): string {
  const o: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(ev)) {
    if (k === 'data' && Buffer.isBuffer(v)) {
      const d: Record<string, unknown> = { len: v.length, sha256: createHash('sha256').update(v).digest('hex') };
      if (opts.payload) d.base64 = v.toString('base64');
      o.data = d;
    } else if (typeof v === 'bigint') o[k] = v.toString();
    else o[k] = v;
  }
  return JSON.stringify(o);
}
