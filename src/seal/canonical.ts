import { AgentrailError } from '../errors.js';
import { putOwn } from '../contracts/own-property.js';

/**
 * RFC 8785 (JCS) canonical JSON bytes of a value. Same output and the same refusals as the
 * `canonicalize` package (the reference JS implementation by an RFC 8785 author), which the tests
 * keep as the oracle on random and real events (test/seal/canonical-oracle.test.ts). Written here
 * because the seal stage canonicalizes every event on the hot path: the reference allocates an
 * array and a joined string per object and array, scans every string char by char in JS for lone
 * surrogates and tracks cycles in a Set; this checks each object's key order, copies sorted only
 * the objects that are not in order, lets one JSON.stringify write the bytes, finds lone surrogates
 * in its output and bounds depth instead (a cycle exceeds it). Measured by bench/seal.ts and
 * bench/canonical.ts. The verifier re-implements JCS independently (src/verify/jcs.ts).
 */
const MAX_DEPTH = 256;

function notJson(why: string): AgentrailError {
  return new AgentrailError('SEAL_NOT_JSON', `event is not representable as RFC 8785 JSON: ${why}`);
}

// ES2024 (Node 20+); the project's lib setting is ES2022.
const wellFormed = (s: string): boolean => (s as unknown as { isWellFormed(): boolean }).isWellFormed();

function str(s: string): string {
  if (!wellFormed(s)) throw notJson('lone surrogate');
  return JSON.stringify(s);
}

function jcs(v: unknown, depth: number): string | undefined {
  switch (typeof v) {
    case 'string':
      return str(v);
    case 'number':
      // ECMAScript Number-to-String is RFC 8785's number form; NaN and ±Infinity have none.
      if (!Number.isFinite(v)) throw notJson(Number.isNaN(v) ? 'NaN' : 'Infinity');
      return JSON.stringify(v);
    case 'boolean':
      return v ? 'true' : 'false';
    case 'bigint':
      throw notJson('BigInt');
    case 'object':
      break;
    default:
      return undefined; // undefined, function, symbol: as JSON.stringify (the caller drops or nulls them)
  }
  if (v === null) return 'null';
  if (depth > MAX_DEPTH) throw notJson('nested too deep or circular');
  const o = v as { toJSON?: () => unknown };
  if (typeof o.toJSON === 'function') return jcs(o.toJSON(), depth + 1);
  if (Array.isArray(v)) {
    let out = '[';
    for (let i = 0; i < v.length; i++) {
      const e = v[i] as unknown;
      if (i) out += ',';
      out += e === undefined || typeof e === 'symbol' ? 'null' : (jcs(e, depth + 1) ?? ''); // as the reference's join
    }
    return out + ']';
  }
  const rec = v as Record<string, unknown>;
  // Default sort compares UTF-16 code units, as RFC 8785 §3.2.3 requires.
  const keys = Object.keys(rec).sort();
  let out = '{';
  let first = true;
  for (const k of keys) {
    const e = rec[k];
    if (e === undefined || typeof e === 'symbol') continue;
    if (!first) out += ',';
    first = false;
    out += str(k) + ':' + (jcs(e, depth + 1) ?? 'undefined');
  }
  return out + '}';
}

/** Marks a value only the full canonicalizer handles the way the reference does (toJSON, functions, index keys out of order). */
const SLOW = Symbol('slow');
/** Array-index keys: V8 keeps them first, in numeric order, whatever order they were added in. */
const INDEX_KEY = /^(?:0|[1-9]\d*)$/;

/**
 * A value whose JSON.stringify output is its RFC 8785 form: the value itself when every object in it
 * already has its keys in code-unit order (envelopes, the sealer's chain fields and the common
 * `agent`/`process` objects are built so), else a copy with only the out-of-order objects rebuilt
 * sorted. JSON.stringify then writes numbers and strings as RFC 8785 does (it specifies
 * ECMAScript's own serialization) and keys in insertion order — which is why the order is checked
 * here. Refuses what jcs refuses, except lone surrogates, which jcsOrThrow finds in the output;
 * returns SLOW where the reference's behaviour differs from JSON.stringify's, and jcs takes over.
 */
function stringifiable(v: unknown, depth: number): unknown {
  switch (typeof v) {
    case 'string':
      return v; // lone surrogates: found in JSON.stringify's output (loneSurrogateEscape)
    case 'number':
      if (!Number.isFinite(v)) throw notJson(Number.isNaN(v) ? 'NaN' : 'Infinity');
      return v;
    case 'boolean':
      return v;
    case 'bigint':
      throw notJson('BigInt');
    case 'object':
      break;
    default:
      return SLOW;
  }
  if (v === null) return v;
  if (depth > MAX_DEPTH) throw notJson('nested too deep or circular');
  if (typeof (v as { toJSON?: unknown }).toJSON === 'function') return SLOW;
  if (Array.isArray(v)) {
    let copy: unknown[] | undefined;
    for (let i = 0; i < v.length; i++) {
      const e = v[i] as unknown;
      if (e === undefined || typeof e === 'symbol') continue; // null in both
      const s = stringifiable(e, depth + 1);
      if (s === SLOW) return SLOW;
      if (s !== e) (copy ??= v.slice())[i] = s;
    }
    return copy ?? v;
  }
  const rec = v as Record<string, unknown>;
  const keys = Object.keys(rec);
  let inOrder = true;
  for (let i = 1; i < keys.length; i++)
    if (!(keys[i - 1]! < keys[i]!)) {
      inOrder = false;
      break;
    }
  if (!inOrder) keys.sort();
  let copy: Record<string, unknown> | undefined;
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    if (!inOrder && INDEX_KEY.test(k)) return SLOW;
    const e = rec[k];
    if (e === undefined || typeof e === 'symbol') continue; // left out by both
    if (typeof e === 'function') return SLOW;
    const s = stringifiable(e, depth + 1);
    if (s === SLOW) return SLOW;
    if (copy === undefined && (s !== e || !inOrder)) {
      // Copy on first difference: the keys before this one, in order, unchanged. A plain object (a
      // prototype-less one is a slow dictionary for JSON.stringify); putOwn keeps "__proto__" an own key.
      copy = {};
      for (let j = 0; j < i; j++) {
        const kj = keys[j]!;
        const ej = rec[kj];
        if (ej !== undefined && typeof ej !== 'symbol') putOwn(copy, kj, inOrder ? ej : (stringifiable(ej, depth + 1) as unknown));
      }
    }
    if (copy !== undefined) putOwn(copy, k, s);
  }
  return copy ?? v;
}

/**
 * JSON.stringify writes a lone surrogate as a `\udXXX` escape (ES2019 well-formed stringify) and
 * never escapes anything else in that range, so one scan of its output replaces a well-formedness
 * check per string and key; RFC 8785 has no form for them. An escape counts only after an even run
 * of backslashes (`\\ud800` is an escaped backslash followed by text).
 */
const LONE_ESCAPE = /(?:^|[^\\])(?:\\\\)*\\ud[89a-f]/;
function loneSurrogateEscape(s: string): boolean {
  return s.includes('\\ud') && LONE_ESCAPE.test(s);
}

function jcsOrThrow(value: unknown): string {
  let s: string | undefined;
  try {
    const ready = stringifiable(value, 0);
    if (ready === SLOW) s = jcs(value, 0);
    else {
      s = JSON.stringify(ready);
      if (s !== undefined && loneSurrogateEscape(s)) throw notJson('lone surrogate');
    }
  } catch (e) {
    if (e instanceof AgentrailError) throw e;
    // A throwing toJSON or getter, or a stack overflow: not an event we can seal.
    throw new AgentrailError('SEAL_NOT_JSON', 'event is not representable as RFC 8785 JSON', { cause: e });
  }
  if (s === undefined) throw new AgentrailError('SEAL_NOT_JSON', 'event cannot be serialized as JSON');
  return s;
}

export function canonicalBytes(value: unknown): Buffer {
  return Buffer.from(jcsOrThrow(value), 'utf8');
}

/**
 * Canonical bytes written after one reserved leading byte (for the leaf prefix): returns the
 * whole buffer; the canonical bytes are `buf.subarray(1)`.
 */
export function canonicalBytesPrefixed(value: unknown): Buffer {
  const s = jcsOrThrow(value);
  const buf = Buffer.allocUnsafe(1 + Buffer.byteLength(s, 'utf8'));
  buf.write(s, 1, 'utf8');
  return buf;
}

/**
 * An event's canonical members split around the two the sealer adds, `prevhash` and `sequence`
 * (RFC 8785 orders members by key, so their place is fixed by the other keys): `before` holds the
 * members whose keys sort before "prevhash", `between` those between the two, `after` the rest,
 * each comma-joined ("" when none). A shard worker computes these off the main thread; the sealer
 * joins them with the chain fields into exactly the bytes canonicalBytes would give for the sealed
 * event (test/seal/canonical-parts.test.ts).
 */
export interface CanonicalParts {
  type: string;
  before: string;
  between: string;
  after: string;
}

export function canonicalParts(ev: { type: string } & Record<string, unknown>): CanonicalParts {
  const before: string[] = [];
  const between: string[] = [];
  const after: string[] = [];
  for (const k of Object.keys(ev).sort()) {
    if (k === 'prevhash' || k === 'sequence' || k === 'eventsig') continue; // the sealer's own
    const v = ev[k];
    if (v === undefined || typeof v === 'symbol') continue;
    const member = str(k) + ':' + (jcsOrThrow(v) ?? 'undefined');
    (k < 'prevhash' ? before : k < 'sequence' ? between : after).push(member);
  }
  return { type: ev.type, before: before.join(','), between: between.join(','), after: after.join(',') };
}

/** The sealed event's canonical text from its parts and the chain fields (see canonicalParts). */
export function joinCanonicalParts(p: CanonicalParts, prevhash: string, sequence: string): string {
  return `{${p.before ? p.before + ',' : ''}"prevhash":${JSON.stringify(prevhash)}${p.between ? ',' + p.between : ''},"sequence":${JSON.stringify(sequence)}${p.after ? ',' + p.after : ''}}`;
}

/** The unsealed event's canonical text from its parts (what eventsig signs over, minus the chain fields). */
export function partsToJson(p: CanonicalParts): string {
  return `{${[p.before, p.between, p.after].filter(Boolean).join(',')}}`;
}
