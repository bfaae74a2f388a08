import { putOwn } from '../contracts/own-property.js';
import { countStageError } from '../observability/metrics.js';

/**
 * Strings an agent or a server controls (tool names, model ids, MCP server
 * names, argument property names) can hold lone UTF-16 surrogates, which RFC
 * 8785 cannot represent: left alone, the sealer would refuse the event and
 * the action would survive only as a log.gap. Every string and key of an
 * event is made well-formed here, at the event boundary (U+FFFD for each
 * lone surrogate, as String.prototype.toWellFormed does), and counted.
 *
 * Key order is left to the seal stage. Putting every object in RFC 8785 order here was measured
 * twice (2026-12-05 on the 214 events of the recorded captures: +1.3 µs per event built and sealed):
 * the seal must still walk the event to check it, so the rebuild here only adds that walk; the
 * seal's own sorted copy is made during the walk it does anyway.
 */
interface WellFormedString {
  isWellFormed(): boolean;
  toWellFormed(): string;
}
const wf = (s: string) => s as unknown as WellFormedString;

function fix(s: string): string {
  if (wf(s).isWellFormed()) return s;
  countStageError('event', 'lone_surrogate_replaced');
  return wf(s).toWellFormed();
}

/** Same value with every string and object key well-formed; objects are rebuilt only when something changed. */
export function wellFormed<T>(v: T, depth = 0): T {
  if (typeof v === 'string') return fix(v) as T;
  if (depth > 64 || v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) {
    let out: unknown[] | undefined;
    for (let i = 0; i < v.length; i++) {
      const x = wellFormed(v[i], depth + 1);
      if (x !== v[i]) (out ??= v.slice())[i] = x;
    }
    return (out ?? v) as T;
  }
  if (Buffer.isBuffer(v)) return v;
  let out: Record<string, unknown> | undefined;
  const src = v as Record<string, unknown>;
  const keys = Object.keys(src);
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    const nk = fix(k);
    const x = wellFormed(src[k], depth + 1);
    if (!out && (nk !== k || x !== src[k])) {
      out = {};
      for (let j = 0; j < i; j++) putOwn(out, keys[j]!, src[keys[j]!]);
    }
    if (out) putOwn(out, nk, x);
  }
  return (out ?? v) as T;
}
