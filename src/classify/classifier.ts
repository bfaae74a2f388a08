import { DETECTORS, digitSpans } from './detectors.js';
import { RuleStore } from './rules.js';
import { countDrop } from '../observability/metrics.js';

/** Characters scanned per window; longer text is scanned window by window. */
export const DEFAULT_SCAN_CAP = 1 << 20;
/** Overlap between windows, so a secret spanning a window boundary is still found. */
const WINDOW_OVERLAP = 8192;
/** Past this many characters the tail is not scanned: tagged `unscanned:tail` and counted. */
export const DEFAULT_FULL_SCAN_LIMIT = 64 << 20;
export const UNSCANNED_TAG = 'unscanned:tail';
const PATH_CACHE_ENTRIES = 8192;

/**
 * What the digit-bound detectors scan in a window: the parts near digits (digitSpans), or the whole
 * window when those cover most of it (a table of numbers), where slicing would only copy.
 */
function digitTexts(t: string): string[] {
  return digitSpans(t, 0.5)?.map(([a, b]) => t.slice(a, b)) ?? [t];
}

/**
 * Sensitivity tags (`CLASS:kind`) for text, paths and structured values,
 * resolved against the CURRENT rules at each call (the rules reload live).
 * Returns sorted unique tags; never the matched text.
 */
export class Classifier {
  readonly store: RuleStore;
  private readonly pathCache = new Map<string, readonly string[]>();
  private pathRules: unknown;
  constructor(
    store?: RuleStore,
    private readonly scanCap = DEFAULT_SCAN_CAP,
    private readonly fullScanLimit = DEFAULT_FULL_SCAN_LIMIT,
  ) {
    this.store = store ?? new RuleStore();
  }

  /**
   * Content tags of text. Long text is scanned in overlapping windows so the
   * detectors' cost stays linear and no secret hides behind a size cap; only
   * past fullScanLimit is the tail left unscanned, and then it says so.
   */
  text(text: string, into: Set<string> = new Set()): Set<string> {
    if (!text) return into;
    const r = this.store.rules;
    const opts = { entropyThreshold: r.entropyThreshold, entropyMinLength: r.entropyMinLength };
    const end = Math.min(text.length, this.fullScanLimit);
    if (end < text.length) {
      into.add(UNSCANNED_TAG);
      countDrop('classify', 'unscanned_tail');
    }
    const pending = DETECTORS.filter((d) => r.enabled.has(d.id));
    for (let off = 0; off < end && pending.length; off += this.scanCap) {
      const t = off === 0 && end <= this.scanCap ? text : text.slice(off, Math.min(end, off + this.scanCap + WINDOW_OVERLAP));
      let nearDigits: string[] | undefined;
      for (let i = pending.length - 1; i >= 0; i--) {
        const d = pending[i]!;
        if (d.digitBound) nearDigits ??= digitTexts(t);
        if (d.digitBound ? nearDigits!.some((part) => d.count(part, opts) > 0) : d.count(t, opts) > 0) {
          into.add(r.tagFor.get(d.id) ?? d.tag);
          pending.splice(i, 1); // found: later windows need not run it again
        }
      }
    }
    return into;
  }

  path(path: string, into: Set<string> = new Set()): Set<string> {
    if (!path) return into;
    const rules = this.store.rules;
    // Processes open the same files over and over (loaders, modules): remember each path's tags
    // under the current rules; a reload starts afresh. Bounded: cleared when full.
    if (rules !== this.pathRules) {
      this.pathCache.clear();
      this.pathRules = rules;
    }
    let tags = this.pathCache.get(path);
    if (!tags) {
      const found: string[] = [];
      if (rules.anyPath(path)) for (const rule of rules.paths) if (rule.match(path)) found.push(...rule.tags);
      tags = found;
      if (this.pathCache.size >= PATH_CACHE_ENTRIES) this.pathCache.clear();
      this.pathCache.set(path, tags);
    }
    for (const t of tags) into.add(t);
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
