import { DETECTORS } from './detectors.js';
import { RuleStore } from './rules.js';

/** Cap on the characters one call scans; the tail beyond is counted, not read. */
export const DEFAULT_SCAN_CAP = 1 << 20;

/**
 * Sensitivity tags (`CLASS:kind`) for text, paths and structured values,
 * resolved against the CURRENT rules at each call (the rules reload live).
 * Returns sorted unique tags; never the matched text.
 */
export class Classifier {
  readonly store: RuleStore;
  constructor(store?: RuleStore, private readonly scanCap = DEFAULT_SCAN_CAP) {
    this.store = store ?? new RuleStore();
  }

  text(text: string, into: Set<string> = new Set()): Set<string> {
    if (!text) return into;
    const r = this.store.rules;
    const t = text.length > this.scanCap ? text.slice(0, this.scanCap) : text;
    const opts = { entropyThreshold: r.entropyThreshold, entropyMinLength: r.entropyMinLength };
    for (const d of DETECTORS) {
      if (!r.enabled.has(d.id)) continue;
      if (d.count(t, opts) > 0) into.add(r.tagFor.get(d.id) ?? d.tag);
    }
    return into;
  }

  path(path: string, into: Set<string> = new Set()): Set<string> {
    if (!path) return into;
    for (const rule of this.store.rules.paths) if (rule.match(path)) for (const t of rule.tags) into.add(t);
    return into;
  }

  /** Every string leaf of a JSON-like value: content detectors, plus path rules for path-looking strings. */
  value(v: unknown, into: Set<string> = new Set(), depth = 0): Set<string> {
    if (depth > 32) return into;
    if (typeof v === 'string') {
      this.text(v, into);
      if (looksLikePath(v)) this.path(v, into);
    } else if (Array.isArray(v)) {
      for (const x of v) this.value(x, into, depth + 1);
    } else if (v && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) {
        this.text(k, into);
        this.value(x, into, depth + 1);
      }
    }
    return into;
  }
}

export function looksLikePath(s: string): boolean {
  return s.length < 4096 && !s.includes('\n') && (/^(?:\/|~\/|\.{1,2}\/)/.test(s) || /^[\w.-]+(?:\/[\w.-]+)+$/.test(s) || s === '.env');
}

export function sortedTags(s: Set<string>): string[] {
  return [...s].sort();
}
