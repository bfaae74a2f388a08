import zlib from 'node:zlib';
import type { StageStats } from '../observability/stage-stats.js';

/** One complete WebSocket message (data frames reassembled) or a control frame. */
export type WsMessage =
  | { kind: 'text' | 'binary'; data: Buffer; compressed: boolean; truncated: boolean }
  | { kind: 'close'; code?: number }
  | { kind: 'ping' | 'pong' };

export interface WsOptions {
  /** The sender is the client: RFC 6455 §5.1 requires its frames masked, the server's unmasked. */
  fromClient: boolean;
  /** permessage-deflate was negotiated in the 101 response (RFC 7692). */
  deflate?: boolean;
  /** The sender's side was negotiated with *_no_context_takeover. */
  noContextTakeover?: boolean;
  /** Bytes kept per message (wire and inflated alike); the rest is counted, not stored. */
  maxMessageBytes: number;
}

/** RFC 7692 §7.2.2: the sender strips this tail from every compressed message. */
const DEFLATE_TAIL = Buffer.from([0x00, 0x00, 0xff, 0xff]);
/** The LZ77 window: context takeover means the next message may refer back this far. */
const WINDOW = 32 * 1024;

/**
 * Streaming RFC 6455 frame parser for one direction of one connection. Bytes
 * arrive in arbitrary chunks; frames are unmasked, fragments reassembled and
 * permessage-deflate undone with an output cap (a compression bomb stops at
 * `maxMessageBytes`). A protocol violation desynchronises the stream for good:
 * it is counted once and the rest of the direction is counted as dropped bytes.
 */
export class WebSocketParser {
  private buf: Buffer = Buffer.alloc(0);
  private failed = false;
  private frag: { kind: 'text' | 'binary'; compressed: boolean; parts: Buffer[]; size: number; wireBytes: number } | undefined;
  /** Last 32 KiB of inflated output: the dictionary that stands for the shared window. */
  private window: Buffer = Buffer.alloc(0);
  /** Payload bytes of an oversized frame still to be passed over. */
  private skipping: { remaining: number; fin: boolean } | undefined;

  constructor(
    private readonly opts: WsOptions,
    private readonly stats: StageStats,
    private readonly emit: (m: WsMessage) => void,
  ) {}

  push(chunk: Buffer): void {
    if (this.failed) {
      this.stats.drop('protocol', 'ws_after_error', chunk.length);
      return;
    }
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    while (!this.failed && (this.skipping ? this.skip() : this.frame())) {
      /* one frame per iteration */
    }
  }

  /** The capture ended: a partial frame or an unfinished message is counted. */
  end(): void {
    if (this.failed) return;
    if (this.buf.length > 0 || this.skipping) this.stats.error('protocol', 'ws_truncated_frame');
    if (this.frag) this.stats.error('protocol', 'ws_truncated_message');
    this.buf = Buffer.alloc(0);
    this.frag = undefined;
    this.skipping = undefined;
  }

  private fail(reason: string): void {
    this.failed = true;
    this.stats.error('protocol', reason);
    if (this.buf.length > 0) this.stats.drop('protocol', 'ws_after_error', this.buf.length);
    this.buf = Buffer.alloc(0);
    this.frag = undefined;
  }

  /** Parses one frame from the buffer; false when more bytes are needed. */
  private frame(): boolean {
    const b = this.buf;
    if (b.length < 2) return false;
    const fin = (b[0]! & 0x80) !== 0;
    const rsv1 = (b[0]! & 0x40) !== 0;
    const opcode = b[0]! & 0x0f;
    const masked = (b[1]! & 0x80) !== 0;
    let len = b[1]! & 0x7f;
    let off = 2;
    if (len === 126) {
      if (b.length < 4) return false;
      len = b.readUInt16BE(2);
      off = 4;
    } else if (len === 127) {
      if (b.length < 10) return false;
      const big = b.readBigUInt64BE(2);
      // §5.2: the most significant bit must be 0; anything past 2^53 cannot be real traffic.
      if (big > BigInt(Number.MAX_SAFE_INTEGER)) return this.fail('ws_bad_length'), false;
      len = Number(big);
      off = 10;
    }
    if ((b[0]! & 0x30) !== 0) return this.fail('ws_reserved_bits'), false;
    if (rsv1 && !this.opts.deflate) return this.fail('ws_reserved_bits'), false;
    const control = opcode >= 8;
    if (control && (!fin || len > 125 || rsv1)) return this.fail('ws_bad_control_frame'), false;
    if (![0, 1, 2, 8, 9, 10].includes(opcode)) return this.fail('ws_bad_opcode'), false;
    if (masked !== this.opts.fromClient) this.stats.error('protocol', 'ws_mask_violation');
    const keyOff = off;
    if (masked) off += 4;
    if (b.length < off) return false;
    if (len > this.opts.maxMessageBytes) return this.oversized(fin, rsv1, opcode, off, len);
    if (b.length < off + len) return false;
    const payload = Buffer.from(b.subarray(off, off + len));
    if (masked) for (let i = 0; i < payload.length; i++) payload[i]! ^= b[keyOff + (i & 3)]!;
    this.buf = b.subarray(off + len);
    this.onFrame(fin, rsv1, opcode, payload, len);
    return true;
  }

  /**
   * A data frame larger than the message cap is never buffered: it is counted
   * and its payload skipped as it arrives, so the parser stays in step after it.
   */
  private oversized(fin: boolean, rsv1: boolean, opcode: number, off: number, len: number): boolean {
    this.stats.drop('protocol', 'ws_frame_too_large', len);
    if (opcode === 0 && !this.frag) return this.fail('ws_orphan_continuation'), false;
    if (opcode !== 0 && this.frag) return this.fail('ws_interleaved_message'), false;
    this.frag ??= { kind: opcode === 1 ? 'text' : 'binary', compressed: rsv1, parts: [], size: 0, wireBytes: 0 };
    this.frag.size = this.opts.maxMessageBytes + 1;
    this.frag.wireBytes += len;
    this.skipping = { remaining: len, fin };
    this.buf = this.buf.subarray(off);
    return this.skip();
  }

  /** Consumes skipped payload from the buffer; true when the frame is fully skipped. */
  private skip(): boolean {
    const s = this.skipping!;
    const n = Math.min(s.remaining, this.buf.length);
    s.remaining -= n;
    this.buf = this.buf.subarray(n);
    if (s.remaining > 0) return false;
    this.skipping = undefined;
    if (s.fin && this.frag) {
      const f = this.frag;
      this.frag = undefined;
      this.emitData(f.kind, Buffer.alloc(0), f.compressed, true);
    }
    return true;
  }

  private onFrame(fin: boolean, rsv1: boolean, opcode: number, payload: Buffer, len: number): void {
    if (opcode === 8) {
      this.emit(payload.length >= 2 ? { kind: 'close', code: payload.readUInt16BE(0) } : { kind: 'close' });
      return;
    }
    if (opcode === 9 || opcode === 10) {
      this.emit({ kind: opcode === 9 ? 'ping' : 'pong' });
      return;
    }
    if (opcode === 0) {
      if (!this.frag) return this.fail('ws_orphan_continuation');
      if (rsv1) return this.fail('ws_reserved_bits');
    } else {
      if (this.frag) return this.fail('ws_interleaved_message');
      this.frag = { kind: opcode === 1 ? 'text' : 'binary', compressed: rsv1, parts: [], size: 0, wireBytes: 0 };
    }
    const f = this.frag!;
    f.wireBytes += len;
    if (f.size + payload.length <= this.opts.maxMessageBytes) f.parts.push(payload);
    f.size += payload.length;
    if (!fin) return;
    this.frag = undefined;
    const wire = Buffer.concat(f.parts);
    const wireCut = f.size > this.opts.maxMessageBytes;
    if (wireCut) this.stats.drop('protocol', 'ws_message_too_large', f.size - wire.length);
    this.emitData(f.kind, wire, f.compressed, wireCut);
  }

  private emitData(kind: 'text' | 'binary', wire: Buffer, compressed: boolean, truncated: boolean): void {
    if (!compressed) {
      this.emit({ kind, data: wire, compressed, truncated });
      return;
    }
    if (truncated) {
      // The window is lost with the cut message: later messages may not inflate.
      this.window = Buffer.alloc(0);
      this.stats.drop('protocol', 'ws_uninflated_message');
      this.emit({ kind, data: Buffer.alloc(0), compressed, truncated });
      return;
    }
    const r = this.inflate(wire);
    if (r) this.emit({ kind, data: r.data, compressed, truncated: r.capped });
  }

  /**
   * Inflates one message. Context takeover (RFC 7692 §7.2.3) is reproduced by
   * handing zlib the last 32 KiB of earlier output as a preset dictionary, which
   * is exactly the window the sender's deflater may refer back into; this keeps
   * the per-connection state to 32 KiB and the call synchronous and capped.
   */
  private inflate(wire: Buffer): { data: Buffer; capped: boolean } | undefined {
    const useDict = !this.opts.noContextTakeover && this.window.length > 0;
    try {
      const data = zlib.inflateRawSync(Buffer.concat([wire, DEFLATE_TAIL]), {
        maxOutputLength: this.opts.maxMessageBytes,
        finishFlush: zlib.constants.Z_SYNC_FLUSH,
        ...(useDict ? { dictionary: this.window } : {}),
      });
      if (!this.opts.noContextTakeover) {
        const joined = this.window.length + data.length <= WINDOW ? Buffer.concat([this.window, data]) : Buffer.concat([this.window, data]).subarray(-WINDOW);
        this.window = Buffer.from(joined);
      }
      return { data, capped: false };
    } catch (e) {
      this.window = Buffer.alloc(0);
      if ((e as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') {
        this.stats.drop('protocol', 'ws_inflate_capped');
        return { data: Buffer.alloc(0), capped: true };
      }
      this.stats.error('protocol', 'ws_corrupt_deflate');
      return undefined;
    }
  }
}

/** The permessage-deflate parameters a 101 response's Sec-WebSocket-Extensions agreed on (RFC 7692 §7.1). */
export function negotiatedDeflate(extensions: string | undefined): { deflate: boolean; clientNoContextTakeover: boolean; serverNoContextTakeover: boolean } {
  const offer = (extensions ?? '')
    .split(',')
    .map((s) => s.split(';').map((p) => p.trim().toLowerCase()))
    .find((p) => p[0] === 'permessage-deflate');
  if (!offer) return { deflate: false, clientNoContextTakeover: false, serverNoContextTakeover: false };
  const params = new Set(offer.slice(1).map((p) => p.split('=')[0]!.trim()));
  return { deflate: true, clientNoContextTakeover: params.has('client_no_context_takeover'), serverNoContextTakeover: params.has('server_no_context_takeover') };
}
