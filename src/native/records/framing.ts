import { HDR_SIZE } from './fields.js';

/**
 * Frame-only scan (headers, no decoding): how many records a batch holds and
 * the first record's ktime, and how many leading bytes are well framed. Used
 * by the capture writer for block headers.
 */
export function scanRecords(buf: Buffer): { count: number; firstKtimeNs: bigint; framedBytes: number } {
  let o = 0;
  let count = 0;
  let first = 0n;
  while (buf.length - o >= HDR_SIZE) {
    const size = buf.readUInt32LE(o + 4);
    if (size < HDR_SIZE || size > buf.length - o) break;
    if (count === 0) first = buf.readBigUInt64LE(o + 8);
    count++;
    o += size;
  }
  return { count, firstKtimeNs: first, framedBytes: o };
}
