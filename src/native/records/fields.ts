import type { RawHeader } from '../../contracts/raw-event.js';
import { AR_ABI_VERSION } from '../abi.js';

/**
 * Byte helpers shared by the per-op decoders and encoders. Strings in the ABI
 * are fixed-size, NUL-terminated arrays; `len` fields (bytes incl. NUL) bound
 * them but are never trusted past the array.
 */

export const HDR_SIZE = 32;

/** Write the 32-byte header; `size` is the total record length. */
export function writeHeader(buf: Buffer, o: number, op: number, size: number, h: Partial<RawHeader>): void {
  buf.writeUInt16LE(op, o);
  buf.writeUInt16LE(h.version || AR_ABI_VERSION, o + 2);
  buf.writeUInt32LE(size, o + 4);
  buf.writeBigUInt64LE(BigInt.asUintN(64, h.ktimeNs ?? 0n), o + 8);
  buf.writeUInt32LE((h.pid ?? 0) >>> 0, o + 16);
  buf.writeUInt32LE((h.tid ?? 0) >>> 0, o + 20);
  buf.writeBigUInt64LE(BigInt.asUintN(64, h.cgroupId ?? 0n), o + 24);
}

/**
 * A C string from a fixed array at [start, start+max): stops at the first NUL,
 * at `len` (when 0 < len <= max) or at the end of the array.
 */
export function cstr(buf: Buffer, start: number, max: number, len = 0): string {
  const limit = start + (len > 0 && len <= max ? len : max);
  let end = buf.indexOf(0, start);
  if (end < 0 || end > limit) end = limit;
  return buf.toString('utf8', start, end);
}

/**
 * Write a string into a fixed array of `max` bytes, NUL-terminated, truncated
 * to max-1 bytes. Returns the bytes used including the NUL (the ABI's *_len).
 */
export function putCstr(buf: Buffer, start: number, max: number, s: string): { len: number; truncated: boolean } {
  const bytes = Buffer.from(s, 'utf8');
  const n = Math.min(bytes.length, max - 1);
  bytes.copy(buf, start, 0, n);
  buf[start + n] = 0;
  return { len: n + 1, truncated: bytes.length > max - 1 };
}

/** Unsigned 32-bit view of a JS number (encoders accept negative-looking flags). */
export function u32(n: number): number {
  return n >>> 0;
}
