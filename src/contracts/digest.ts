import * as crypto from 'node:crypto';

// One-shot crypto.hash (Node >= 20.12) skips a Hash object per call: ~2x cheaper for the short
// strings hashed per event (paths, ids); the same digest as createHash.
const oneShot = (crypto as { hash?: (alg: string, data: string | Uint8Array, enc: 'hex') => string }).hash;

/** SHA-256 as lowercase hex, of bytes or of a string's UTF-8. */
export function sha256Hex(data: string | Uint8Array): string {
  return oneShot ? oneShot('sha256', data, 'hex') : crypto.createHash('sha256').update(data).digest('hex');
}
