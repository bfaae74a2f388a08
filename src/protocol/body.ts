import type { HttpMessage } from '../contracts/exchange.js';
import type { ProtocolOptions } from '../contracts/protocol-options.js';
import type { StageStats } from '../observability/stage-stats.js';
import { decodeContent } from './content-decoding.js';
import { parseSse } from './sse.js';

/** Collects a message body up to a cap while counting every wire byte. */
export class BodyCollector {
  private parts: Buffer[] = [];
  kept = 0;
  wireBytes = 0;
  truncated = false;
  /** Bytes beyond the cap were seen (counted once per body by finishBody). */
  capped = false;

  constructor(private readonly cap: number) {}

  add(b: Buffer): void {
    this.wireBytes += b.length;
    const room = this.cap - this.kept;
    if (room <= 0) {
      this.truncated = true;
      this.capped = true;
      return;
    }
    // No copy: the stream stage hands over buffers it allocated for this stream alone.
    const take = b.length > room ? b.subarray(0, room) : b;
    if (b.length > room) this.truncated = this.capped = true;
    this.parts.push(take);
    this.kept += take.length;
  }

  /** Bytes that never arrived (capture truncation): the body is no longer exact. */
  missing(n: number): void {
    this.wireBytes += n;
    this.truncated = true;
  }

  take(): Buffer {
    const b = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts, this.kept);
    this.parts = [];
    return b;
  }
}

export function header(headers: Array<[string, string]>, name: string): string | undefined {
  for (const [k, v] of headers) if (k === name) return v;
  return undefined;
}

/** Build the final body of a message: content decoding (bounded) and SSE parsing. */
export function finishBody(
  msg: Omit<HttpMessage, 'body' | 'wireBytes' | 'decodedBytes' | 'truncated'>,
  body: BodyCollector,
  opts: ProtocolOptions,
  stats: StageStats,
): HttpMessage {
  const wire = body.take();
  const enc = header(msg.headers, 'content-encoding');
  let decoded = wire;
  let decodedBytes = wire.length;
  let truncated = body.truncated;
  if (body.capped) stats.drop('protocol', 'body_cap');
  if (enc !== undefined && wire.length > 0) {
    const r = decodeContent(enc, wire, opts.maxDecodedBytes);
    decoded = r.body;
    decodedBytes = r.decodedBytes;
    if (r.capped) {
      truncated = true;
      stats.drop('protocol', 'decompression_cap');
    }
    if (r.failed) stats.error('protocol', r.failed);
    if (r.body !== wire) wire.fill(0);
  }
  const out: HttpMessage = { ...msg, body: decoded, wireBytes: body.wireBytes, decodedBytes, truncated };
  const ct = header(msg.headers, 'content-type');
  if (ct !== undefined && ct.toLowerCase().startsWith('text/event-stream')) {
    const r = parseSse(decoded, opts.maxSseEvents);
    out.sse = r.events;
    if (r.dropped > 0) stats.drop('protocol', 'sse_event_cap', r.dropped);
  }
  return out;
}
