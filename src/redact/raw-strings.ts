import { keyedHex } from './keyed-hash.js';
import { looksLikePath, type Classifier } from '../classify/classifier.js';
import type { RawEvent } from '../contracts/raw-event.js';
import { redactPathSegments } from './uri.js';

/**
 * `run --raw` prints kernel records for debugging; argv and paths in them can
 * carry bearer tokens, cookies and keys (`curl -H "Authorization: Bearer …"`,
 * `--api-key=sk-…`). Without --raw-payload they go through the same content
 * detectors as events: a flagged argument becomes `~h:<hash prefix>`, a
 * flagged path segment likewise.
 */
function h(s: string): string {
  return `~h:${keyedHex('segment', s).slice(0, 16)}`;
}

function arg(s: string, cls: Classifier): string {
  if (looksLikePath(s)) return redactPathSegments(s, cls);
  // "Bearer <token>" and "--flag=<value>": hash only the value, so the reader still sees what it was.
  const m = /^(.*?(?:[:=]\s*|bearer\s+|basic\s+))(\S{8,})$/i.exec(s);
  if (m && cls.text(m[2]!).size > 0) return m[1]! + h(m[2]!);
  return cls.text(s).size > 0 ? h(s) : s;
}

export function redactRawStrings(ev: RawEvent, cls: Classifier): RawEvent {
  switch (ev.kind) {
    case 'proc.exec':
      return { ...ev, filename: redactPathSegments(ev.filename, cls), args: ev.args.map((a) => arg(a, cls)) };
    case 'file.open':
      return { ...ev, path: redactPathSegments(ev.path, cls) };
    case 'file.op':
      return { ...ev, path: redactPathSegments(ev.path, cls), path2: redactPathSegments(ev.path2, cls) };
    default:
      return ev;
  }
}
