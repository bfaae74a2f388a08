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

/** Short keyed id of a credential (key id hash): first 16 hex of SHA-256, domain-separated. */
export function keyIdHash(secret: string): string {
  return `sha256:${createHash('sha256').update('agentrail-key-id\0').update(secret).digest('hex').slice(0, 32)}`;
}

export function utf8Bytes(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}
