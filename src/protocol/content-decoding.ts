import zlib from 'node:zlib';
import { Decompress as ZstdDecompress } from 'fzstd';

export interface DecodedBody {
  body: Buffer;
  /** Bytes produced (equals body.length unless capped). */
  decodedBytes: number;
  /** Output reached the cap (compression bomb or huge body): body holds at most `cap` bytes. */
  capped: boolean;
  /** The coding is unknown or the data is corrupt: body is the raw wire bytes. */
  failed?: 'unsupported_encoding' | 'corrupt_encoding';
}

/** zstd input is fed in small slices so a bomb is stopped soon after the cap. */
const SLICE = 1024;

/**
 * Content decoding with a hard output cap. zlib/brotli use `maxOutputLength`
 * (the inflater stops once the cap is reached, it never allocates past it);
 * zstd (Node 20 has no zstd in node:zlib) goes through fzstd's streaming
 * decoder fed in 1 KiB slices, stopping at the cap. Truncated input (a body
 * cut by the capture) yields the bytes decodable so far.
 */
export function decodeContent(encodingHeader: string | undefined, wire: Buffer, cap: number): DecodedBody {
  const codings = (encodingHeader ?? '')
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter((s) => s !== '' && s !== 'identity');
  let cur = wire;
  let capped = false;
  // Codings are listed in the order applied: undo them in reverse.
  for (let i = codings.length - 1; i >= 0; i--) {
    const r = decodeOne(codings[i]!, cur, cap);
    if (r.failed) return { body: wire.length > cap ? wire.subarray(0, cap) : wire, decodedBytes: wire.length, capped: wire.length > cap, failed: r.failed };
    cur = r.body;
    capped ||= r.capped;
  }
  if (codings.length === 0 && cur.length > cap) return { body: cur.subarray(0, cap), decodedBytes: cur.length, capped: true };
  return { body: cur, decodedBytes: cur.length, capped };
}

function decodeOne(coding: string, input: Buffer, cap: number): DecodedBody {
  switch (coding) {
    case 'gzip':
    case 'x-gzip':
      return viaZlib(() => zlib.gunzipSync(input, { maxOutputLength: cap, finishFlush: zlib.constants.Z_SYNC_FLUSH }), input, cap);
    case 'deflate': {
      // "deflate" is zlib-wrapped per RFC 9110, but some servers send raw deflate.
      const wrapped = (input.length >= 2 && (input[0]! & 0x0f) === 8 && ((input[0]! << 8) | input[1]!) % 31 === 0);
      return viaZlib(
        () => (wrapped ? zlib.inflateSync : zlib.inflateRawSync)(input, { maxOutputLength: cap, finishFlush: zlib.constants.Z_SYNC_FLUSH }),
        input,
        cap,
      );
    }
    case 'br':
      return viaZlib(
        () => zlib.brotliDecompressSync(input, { maxOutputLength: cap, finishFlush: zlib.constants.BROTLI_OPERATION_FLUSH }),
        input,
        cap,
      );
    case 'zstd':
      return viaZstd(input, cap);
    default:
      return { body: input, decodedBytes: input.length, capped: false, failed: 'unsupported_encoding' };
  }
}

function viaZlib(run: () => Buffer, input: Buffer, cap: number): DecodedBody {
  try {
    const out = run();
    return { body: out, decodedBytes: out.length, capped: false };
  } catch (e) {
    if ((e as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') {
      // The inflater stopped at the cap. The prefix is not recoverable from the
      // sync API without decoding again, and a capped body is unusable as JSON anyway.
      return { body: Buffer.alloc(0), decodedBytes: cap, capped: true };
    }
    return { body: input, decodedBytes: input.length, capped: false, failed: 'corrupt_encoding' };
  }
}

function viaZstd(input: Buffer, cap: number): DecodedBody {
  const parts: Buffer[] = [];
  let total = 0;
  let capped = false;
  const d = new ZstdDecompress((chunk) => {
    if (capped) return;
    const room = cap - total;
    if (chunk.length > room) {
      parts.push(Buffer.from(chunk.subarray(0, room)));
      total = cap;
      capped = true;
    } else {
      parts.push(Buffer.from(chunk));
      total += chunk.length;
    }
  });
  try {
    for (let off = 0; off < input.length && !capped; off += SLICE) {
      const end = Math.min(input.length, off + SLICE);
      d.push(input.subarray(off, end), end === input.length);
    }
  } catch {
    if (total === 0) return { body: input, decodedBytes: input.length, capped: false, failed: 'corrupt_encoding' };
  }
  const body = Buffer.concat(parts, total);
  return { body, decodedBytes: total, capped };
}
