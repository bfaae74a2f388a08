/**
 * RFC 6962 / RFC 9162 Merkle tree with @noble/hashes only (browser-safe). Leaf = SHA-256(0x00 ‖ d),
 * node = SHA-256(0x01 ‖ l ‖ r). Proof algorithms follow RFC 9162 §2.1.3.2 and §2.1.4.2.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { equalBytes } from './bytes.js';

export const EMPTY_ROOT: Uint8Array = sha256(new Uint8Array(0));

export function leafHash(data: Uint8Array): Uint8Array {
  const h = sha256.create();
  h.update(new Uint8Array([0]));
  h.update(data);
  return h.digest();
}

export function nodeHash(l: Uint8Array, r: Uint8Array): Uint8Array {
  const h = sha256.create();
  h.update(new Uint8Array([1]));
  h.update(l);
  h.update(r);
  return h.digest();
}

/** Fold a compact range [0, n) (perfect subtree roots, largest first) into the tree root. */
export function rootFromFrontier(frontier: readonly Uint8Array[]): Uint8Array {
  if (frontier.length === 0) return EMPTY_ROOT;
  let acc = frontier[frontier.length - 1]!;
  for (let i = frontier.length - 2; i >= 0; i--) acc = nodeHash(frontier[i]!, acc);
  return acc;
}

/** Number of perfect subtrees in the compact range [0, n) = popcount(n). */
export function frontierLength(n: number): number {
  let c = 0;
  for (let x = n; x > 0; x = Math.floor(x / 2)) c += x % 2;
  return c;
}

/** Append-only tree state: the compact range [0, size). */
export class CompactTree {
  size = 0;
  /** Perfect subtree roots, largest first; sizes follow the binary digits of `size`. */
  frontier: Uint8Array[] = [];

  static from(size: number, frontier: Uint8Array[]): CompactTree {
    if (frontier.length !== frontierLength(size)) throw new Error('frontier length does not match tree size');
    const t = new CompactTree();
    t.size = size;
    t.frontier = frontier.slice();
    return t;
  }

  append(leaf: Uint8Array): void {
    let h = leaf;
    // Merge with equal-sized subtrees: one merge per trailing 1 bit of the old size.
    for (let s = this.size; s % 2 === 1; s = (s - 1) / 2) h = nodeHash(this.frontier.pop()!, h);
    this.frontier.push(h);
    this.size++;
  }

  root(): Uint8Array {
    return rootFromFrontier(this.frontier);
  }
}

function largestPow2Below(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** MTH over leaf hashes [lo, hi). */
export function subtreeRoot(leaves: readonly Uint8Array[], lo: number, hi: number): Uint8Array {
  const n = hi - lo;
  if (n === 0) return EMPTY_ROOT;
  if (n === 1) return leaves[lo]!;
  const k = largestPow2Below(n);
  return nodeHash(subtreeRoot(leaves, lo, lo + k), subtreeRoot(leaves, lo + k, hi));
}

/** RFC 6962 PATH(m, D[lo:hi]): audit path for leaf index m (relative) in leaves [lo, hi). */
export function inclusionProof(leaves: readonly Uint8Array[], index: number, size: number, lo = 0): Uint8Array[] {
  if (index < 0 || index >= size || size > leaves.length - lo) throw new Error('inclusionProof: index out of range');
  const path = (m: number, a: number, b: number): Uint8Array[] => {
    const n = b - a;
    if (n <= 1) return [];
    const k = largestPow2Below(n);
    if (m < k) return [...path(m, a, a + k), subtreeRoot(leaves, a + k, b)];
    return [...path(m - k, a + k, b), subtreeRoot(leaves, a, a + k)];
  };
  return path(index, lo, lo + size);
}

/** RFC 6962 PROOF(m, D[0:n]). */
export function consistencyProof(leaves: readonly Uint8Array[], m: number, n: number): Uint8Array[] {
  if (m < 0 || m > n || n > leaves.length) throw new Error('consistencyProof: bad sizes');
  if (m === 0 || m === n) return [];
  const sub = (mm: number, a: number, b: number, whole: boolean): Uint8Array[] => {
    const nn = b - a;
    if (mm === nn) return whole ? [] : [subtreeRoot(leaves, a, b)];
    const k = largestPow2Below(nn);
    if (mm <= k) return [...sub(mm, a, a + k, whole), subtreeRoot(leaves, a + k, b)];
    return [...sub(mm - k, a + k, b, false), subtreeRoot(leaves, a, a + k)];
  };
  return sub(m, 0, n, true);
}

/** RFC 9162 §2.1.3.2: root computed from an inclusion proof, or undefined if the proof is malformed. */
export function rootFromInclusionProof(
  index: number,
  size: number,
  leaf: Uint8Array,
  proof: readonly Uint8Array[],
): Uint8Array | undefined {
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(size) || index < 0 || index >= size) return undefined;
  if (leaf.length !== 32 || proof.some((p) => p.length !== 32)) return undefined;
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  for (const p of proof) {
    if (sn === 0) return undefined;
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(p, r);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = fn / 2;
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 ? r : undefined;
}

export function verifyInclusion(
  index: number,
  size: number,
  leaf: Uint8Array,
  proof: readonly Uint8Array[],
  root: Uint8Array,
): boolean {
  const r = rootFromInclusionProof(index, size, leaf, proof);
  return r !== undefined && root.length === 32 && equalBytes(r, root);
}

/** RFC 9162 §2.1.4.2 consistency proof verification. */
export function verifyConsistency(
  size1: number,
  size2: number,
  proof: readonly Uint8Array[],
  root1: Uint8Array,
  root2: Uint8Array,
): boolean {
  if (!Number.isSafeInteger(size1) || !Number.isSafeInteger(size2) || size1 < 0 || size2 < size1) return false;
  if (proof.some((p) => p.length !== 32)) return false;
  if (size1 === size2) return proof.length === 0 && equalBytes(root1, root2);
  if (size1 === 0) return proof.length === 0;
  if (proof.length === 0) return false;
  let path = proof.slice();
  // If size1 is an exact power of 2, prepend root1.
  let p2 = 1;
  while (p2 < size1) p2 *= 2;
  if (p2 === size1) path = [root1, ...path];
  let fn = size1 - 1;
  let sn = size2 - 1;
  while (fn % 2 === 1) {
    fn = (fn - 1) / 2;
    sn = Math.floor(sn / 2);
  }
  let fr = path[0]!;
  let sr = path[0]!;
  for (const c of path.slice(1)) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = fn / 2;
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && root1.length === 32 && root2.length === 32 && equalBytes(fr, root1) && equalBytes(sr, root2);
}
