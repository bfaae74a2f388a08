import { sha256Hex } from '../contracts/digest.js';

/**
 * Attribution keys: SHA-256 of strings an action and a tool request share
 * (a path, its basename, a word of a command), so an action can be matched
 * to the tool call that asked for it without keeping the values in memory.
 */
export function hashOf(s: string): string {
  return sha256Hex(s);
}

export function basename(p: string): string {
  return p.slice(p.lastIndexOf('/') + 1);
}

/** The keys of a path: itself and its basename. */
export function pathHashes(path: string): string[] {
  return [hashOf(path), hashOf(basename(path))];
}

/** Keys of every string in a tool's arguments (and their basenames; the words of a command). */
export function argHashes(v: unknown, out: Set<string> = new Set(), depth = 0): Set<string> {
  if (depth > 8) return out;
  if (typeof v === 'string') {
    out.add(hashOf(v));
    const b = basename(v);
    if (b && b !== v) out.add(hashOf(b));
    // Commands carry paths and URLs as words.
    if (v.includes(' ') && v.length < 4096) for (const w of v.split(/\s+/)) if (w) out.add(hashOf(w));
  } else if (Array.isArray(v)) for (const x of v) argHashes(x, out, depth + 1);
  else if (v && typeof v === 'object') for (const x of Object.values(v)) argHashes(x, out, depth + 1);
  return out;
}
