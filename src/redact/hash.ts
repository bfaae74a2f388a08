import { keyedHash } from './keyed-hash.js';
import { createHash } from 'node:crypto';

/**
 * Content hashes are computed BEFORE redaction, over the exact bytes or the
 * UTF-8 of the exact text (the text a client SDK returns), with node:crypto.
 * Written as `sha256:<64 hex>` (the AALF form).
 */
export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

export function contentHash(data: string | Uint8Array): string {
  return `sha256:${sha256Hex(data)}`;
}

/** Hash of a concatenation without building it in memory. */
export function contentHashParts(parts: Array<string | Uint8Array>): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return `sha256:${h.digest('hex')}`;
}

/** Keyed id of a credential (key id hash): HMAC under the deployment key, so a leaked key can be looked up by `agentrail hash --api-key` but not guessed. */
export function keyIdHash(secret: string): string {
  return keyedHash('key-id', secret);
}

export function utf8Bytes(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

/** JSON text of a decoded value, '' when it has none (a cycle, a BigInt): what its hash and token count are computed over. */
export function jsonOf(v: unknown): string {
  try {
    return JSON.stringify(v) ?? '';
  } catch {
    return '';
  }
}
