/**
 * RFC 8785 JSON Canonicalization Scheme, written independently of the `canonicalize` package the
 * producer uses, so the verifier cross-checks the producer instead of sharing its bugs.
 * ECMAScript number and string serialization (JSON.stringify) are exactly what RFC 8785 §3.2.2
 * prescribes; object members are sorted by UTF-16 code units (§3.2.3), which is what the default
 * Array.prototype.sort comparison does.
 */
export function jcs(value: unknown): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value)) throw new Error('JCS: non-finite number');
      return JSON.stringify(value);
    case 'string':
      if (/\p{Surrogate}/u.test(value)) throw new Error('JCS: lone surrogate');
      return JSON.stringify(value);
    case 'object': {
      if (Array.isArray(value)) return '[' + value.map(jcs).join(',') + ']';
      const o = value as Record<string, unknown>;
      const keys = Object.keys(o).sort();
      let s = '{';
      for (let i = 0; i < keys.length; i++) {
        const k = keys[i]!;
        if (/\p{Surrogate}/u.test(k)) throw new Error('JCS: lone surrogate');
        s += (i ? ',' : '') + JSON.stringify(k) + ':' + jcs(o[k]);
      }
      return s + '}';
    }
    default:
      throw new Error(`JCS: ${typeof value} is not JSON`);
  }
}
