import { keyedHash, keyedHex } from './keyed-hash.js';
import { createHash } from 'node:crypto';
import { sha256Hex } from '../contracts/digest.js';
import { SHORT_CONTENT_BYTES } from '../contracts/exchange.js';

/** Content shorter than this is keyed (src/contracts/exchange.ts, docs/events.md "Hashes"). */
export { SHORT_CONTENT_BYTES };

/**
 * Content hashes are computed BEFORE redaction, over the exact bytes or the
 * UTF-8 of the exact text (the text a client SDK returns), with node:crypto.
 * Written as `sha256:<64 hex>` (the AALF form).
 */
export { sha256Hex };

function byteLength(data: string | Uint8Array): number {
  return typeof data === 'string' ? Buffer.byteLength(data, 'utf8') : data.length;
}

export function contentHash(data: string | Uint8Array): string {
  return byteLength(data) < SHORT_CONTENT_BYTES ? keyedHash('content', data) : `sha256:${sha256Hex(data)}`;
}

/** contentHash under a key read from a file (`agentrail hash`, `investigate --artifact`); null when short content has no key to hash it with. */
export function contentHashWithKey(data: Uint8Array, key: Buffer | undefined): string | null {
  if (data.length >= SHORT_CONTENT_BYTES) return `sha256:${sha256Hex(data)}`;
  return key ? `hmac-sha256:${keyedHex('content', data, key)}` : null;
}

/** Hash of a concatenation without building it in memory (short ones are joined: they are short). */
export function contentHashParts(parts: Array<string | Uint8Array>): string {
  let n = 0;
  for (const p of parts) n += byteLength(p);
  if (n < SHORT_CONTENT_BYTES) return keyedHash('content', Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'utf8') : p))));
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
