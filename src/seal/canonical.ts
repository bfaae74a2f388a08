import canonicalize from 'canonicalize';
import { AgentrailError } from '../errors.js';

/**
 * RFC 8785 canonical JSON bytes of a value, via the `canonicalize` package (the reference JS
 * implementation by an RFC 8785 author). The verifier re-implements JCS independently.
 */
function jcsOrThrow(value: unknown): string | undefined {
  try {
    return canonicalize(value);
  } catch (e) {
    // BigInt, NaN, Infinity, lone surrogates, cycles: not representable in RFC 8785.
    throw new AgentrailError('SEAL_NOT_JSON', 'event is not representable as RFC 8785 JSON', { cause: e });
  }
}

export function canonicalBytes(value: unknown): Buffer {
  const s = jcsOrThrow(value);
  if (s === undefined) throw new AgentrailError('SEAL_NOT_JSON', 'event cannot be serialized as JSON');
  return Buffer.from(s, 'utf8');
}

/**
 * Canonical bytes written after one reserved leading byte (for the leaf prefix): returns the
 * whole buffer; the canonical bytes are `buf.subarray(1)`.
 */
export function canonicalBytesPrefixed(value: unknown): Buffer {
  const s = jcsOrThrow(value);
  if (s === undefined) throw new AgentrailError('SEAL_NOT_JSON', 'event cannot be serialized as JSON');
  const buf = Buffer.allocUnsafe(1 + Buffer.byteLength(s, 'utf8'));
  buf.write(s, 1, 'utf8');
  return buf;
}
