import { countStageError } from '../observability/metrics.js';

/**
 * decodeURIComponent that never throws: a malformed percent-encoding
 * (`%zz`, a cut `%4`, invalid UTF-8) in a path an agent or server chose must
 * not drop the exchange. The raw text is kept and the caller learns it was
 * malformed, so it can mark the URI; each case is counted.
 */
export function decodeUriComponentSafe(s: string): { value: string; malformed: boolean } {
  try {
    return { value: decodeURIComponent(s), malformed: false };
  } catch {
    countStageError('protocol', 'malformed_percent_encoding');
    return { value: s, malformed: true };
  }
}

/** Suffix that marks a URI whose percent-encoding could not be decoded (kept raw). */
export const MALFORMED_URI_MARK = '#~malformed-percent-encoding';
