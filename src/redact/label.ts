import { keyedHex } from './keyed-hash.js';
import type { Classifier } from '../classify/classifier.js';
import { countStageError } from '../observability/metrics.js';

/**
 * Names the agent or a server controls and the log keeps verbatim (model ids,
 * tool names, MCP server names, finish reasons, API error types): bounded in
 * length and charset, and passed through the content detectors like any other
 * content, so a server cannot smuggle a secret, markup or a forged log line
 * into the trail through a "name". A flagged name becomes `~h:<hash prefix>`
 * (still comparable across events); each change is counted.
 */
const MAX_LABEL = 128;
const UNSAFE = /[^\p{L}\p{N} ._:/@+=()[\],#~-]/gu;

function h(s: string): string {
  return `~h:${keyedHex('segment', s).slice(0, 16)}`;
}

export function safeLabel(s: string, cls: Classifier, max = MAX_LABEL): string {
  if (cls.text(s).size > 0) {
    countStageError('redact', 'label_flagged');
    return h(s);
  }
  // U+FFFD, not '_': a replaced character must not make a name look like another real name.
  let out = s.replace(UNSAFE, '\ufffd');
  if (out.length > max) {
    countStageError('redact', 'label_truncated');
    out = `${out.slice(0, max)}~${h(s).slice(3)}`;
  }
  if (out !== s && out.length <= max) countStageError('redact', 'label_charset');
  return out;
}

export function safeLabelOrNull(s: string | null | undefined, cls: Classifier, max = MAX_LABEL): string | null {
  return s === null || s === undefined ? null : safeLabel(s, cls, max);
}

/** A server-supplied error type as an `error_class` suffix: labelled like any string, then reduced to `[a-z0-9_.-]`, 64 at most. */
export function errorClassLabel(s: string, cls: Classifier): string {
  return safeLabel(s, cls, 64).toLowerCase().replace(/[^a-z0-9_.-]/g, '_').slice(0, 64);
}
