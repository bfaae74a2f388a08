/**
 * The sealer's RFC 6962 tree state with node:crypto (OpenSSL SHA-256, the hot path). The verifier
 * has its own @noble implementation; tests cross-check both.
 */
import { sha256 } from '../contracts/digest.js';

const scratch = Buffer.alloc(65);
export const ZERO_HASH = Buffer.alloc(32);
export const EMPTY_ROOT = sha256(new Uint8Array(0));

export function leafHash(canonical: Uint8Array): Buffer {
  const b = Buffer.allocUnsafe(canonical.length + 1);
  b[0] = 0;
  b.set(canonical, 1);
  return sha256(b);
}

/** Leaf hash of a buffer whose first byte is reserved for the 0x00 prefix (avoids a copy). */
export function leafHashPrefixed(prefixed: Buffer): Buffer {
  prefixed[0] = 0;
  return sha256(prefixed);
}

export function nodeHash(l: Uint8Array, r: Uint8Array): Buffer {
  scratch[0] = 1;
  scratch.set(l, 1);
  scratch.set(r, 33);
  return sha256(scratch);
}

/** Compact range [0, size): perfect subtree roots, largest first. */
export class MerkleFrontier {
  size = 0;
  frontier: Buffer[] = [];

  static restore(size: number, frontier: Buffer[]): MerkleFrontier {
    const f = new MerkleFrontier();
    f.size = size;
    f.frontier = frontier.slice();
    return f;
  }

  append(leaf: Buffer): void {
    let h = leaf;
    for (let s = this.size; s % 2 === 1; s = (s - 1) / 2) h = nodeHash(this.frontier.pop()!, h);
    this.frontier.push(h);
    this.size++;
  }

  root(): Buffer {
    if (this.frontier.length === 0) return EMPTY_ROOT;
    let acc = this.frontier[this.frontier.length - 1]!;
    for (let i = this.frontier.length - 2; i >= 0; i--) acc = nodeHash(this.frontier[i]!, acc);
    return acc;
  }
}
