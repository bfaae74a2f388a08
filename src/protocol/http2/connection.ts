import type { HttpMessage } from '../../contracts/exchange.js';
import type { ProtocolOptions } from '../../contracts/protocol-options.js';
import type { StageStats } from '../../observability/stage-stats.js';
import { BodyCollector, finishBody } from '../body.js';
import { HpackDecoder, HpackError } from './hpack.js';

export const H2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

const DATA = 0, HEADERS = 1, RST_STREAM = 3, SETTINGS = 4, PUSH_PROMISE = 5, GOAWAY = 7, CONTINUATION = 9;
const F_END_STREAM = 0x1, F_END_HEADERS = 0x4, F_PADDED = 0x8, F_PRIORITY = 0x20;

interface Half {
  headers?: Array<[string, string]>;
  body: BodyCollector;
  startNs: bigint;
  endNs: bigint;
  done: boolean;
  /** Whole frames of this body went unseen (a TLS write above the capture cap): its size then comes from content-length. */
  framesLost?: boolean;
}

interface H2Stream {
  id: number;
  req?: Half;
  res?: Half;
}

type Side = 'client' | 'server';

class Direction {
  buf: Buffer = Buffer.alloc(0);
  hpack: HpackDecoder;
  needPreface: boolean;
  /** Frame whose header was read and whose payload is still arriving. */
  frame: { len: number; type: number; flags: number; sid: number; parts: Buffer[]; got: number; missing: number } | undefined;
  /** Stream of the last DATA frame: whole frames lost in a capture gap are charged to its body. */
  lastDataSid = 0;
  /** Whole frames were lost: the next write must start on a plausible frame header. */
  resync = false;
  /** Header block awaiting CONTINUATION frames. */
  cont: { sid: number; parts: Buffer[]; size: number; endStream: boolean; promise: boolean } | undefined;

  constructor(readonly side: Side, maxHeaderBytes: number) {
    this.hpack = new HpackDecoder(4096, maxHeaderBytes);
    this.needPreface = side === 'client';
  }
}

export interface H2Hooks {
  onExchange(req: HttpMessage | undefined, res: HttpMessage | undefined, complete: boolean): void;
}

/**
 * One HTTP/2 connection seen from both directions (RFC 9113): preface, frame
 * reassembly, HPACK per direction, multiplexed streams, DATA reassembly,
 * CONTINUATION, RST_STREAM and GOAWAY. An HPACK or framing error desynchronises
 * the whole connection (its header table is lost): the connection is then
 * dead, its open streams are emitted as incomplete, and the error is counted.
 */
export class Http2Connection {
  private readonly dirs: Record<Side, Direction>;
  private readonly streams = new Map<number, H2Stream>();
  dead = false;

  constructor(
    private readonly opts: ProtocolOptions,
    private readonly stats: StageStats,
    private readonly hooks: H2Hooks,
  ) {
    this.dirs = { client: new Direction('client', opts.maxHeaderBytes), server: new Direction('server', opts.maxHeaderBytes) };
  }

  buffered(): number {
    const f = (d: Direction) => d.buf.length + (d.frame?.got ?? 0) + (d.cont?.size ?? 0);
    let n = f(this.dirs.client) + f(this.dirs.server);
    for (const s of this.streams.values()) n += (s.req?.body.kept ?? 0) + (s.res?.body.kept ?? 0);
    return n;
  }

  feed(side: Side, chunk: Buffer, ts: bigint): void {
    if (this.dead) return;
    const d = this.dirs[side];
    d.buf = d.buf.length === 0 ? chunk : Buffer.concat([d.buf, chunk]);
    try {
      this.parse(d, ts);
    } catch (e) {
      this.fail(e instanceof HpackError ? `h2_hpack_${e.reason}` : e instanceof H2Error ? `h2_${e.reason}` : 'h2_internal', ts);
    }
  }

  /**
   * Bytes of this direction that were never captured (a TLS write above collector.tlsCap). Only DATA
   * payload can be skipped: the rest of a DATA frame of known length is counted as missing body bytes.
   * When the cut runs past that frame, whole frames went unseen; senders (nghttp2 in curl, Node, Go)
   * hand whole frames to each TLS write, so the next write starts on a frame header: the decoder
   * resynchronises there (checking the header is plausible) instead of dropping the connection. A cut
   * frame header or header block leaves no way to continue: the connection is dropped, counted.
   */
  gap(side: Side, n: number, ts: bigint): void {
    if (this.dead || n <= 0) return;
    const d = this.dirs[side];
    const f = d.frame;
    if (d.buf.length > 0 || d.cont || (f ? f.type !== DATA : d.lastDataSid === 0)) {
      this.fail('h2_gap', ts);
      return;
    }
    let rest = n;
    if (f) {
      const inFrame = Math.min(rest, f.len - f.got - f.missing);
      f.missing += inFrame;
      rest -= inFrame;
      try {
        this.maybeFrameDone(d, ts);
      } catch {
        this.fail('h2_internal', ts);
        return;
      }
    }
    if (rest === 0) return;
    const s = this.streams.get(d.lastDataSid);
    const half = d.side === 'client' ? s?.req : s?.res;
    if (half && !half.done) {
      half.body.missing(rest);
      half.framesLost = true;
    }
    d.resync = true;
    this.stats.drop('protocol', 'h2_frames_unseen');
  }

  end(ts: bigint): void {
    for (const s of this.streams.values()) {
      // A client that read the whole declared body may close before reading the
      // frame that carries END_STREAM (curl does): that message is complete.
      for (const h of [s.req, s.res]) if (h && !h.done && declaredBodySeen(h)) h.done = true;
      this.emit(s, !!s.req?.done && !!s.res?.done, ts);
    }
    this.streams.clear();
  }

  reset(ts: bigint): void {
    this.fail('h2_reset', ts);
  }

  private fail(reason: string, ts: bigint): void {
    this.stats.error('protocol', reason);
    this.dead = true;
    this.end(ts);
    this.dirs.client.buf = Buffer.alloc(0);
    this.dirs.server.buf = Buffer.alloc(0);
    this.dirs.client.frame = this.dirs.server.frame = undefined;
    this.dirs.client.cont = this.dirs.server.cont = undefined;
  }

  private parse(d: Direction, ts: bigint): void {
    if (d.needPreface) {
      if (d.buf.length < H2_PREFACE.length) {
        if (!H2_PREFACE.subarray(0, d.buf.length).equals(d.buf)) throw new H2Error('bad_preface');
        return;
      }
      if (!d.buf.subarray(0, H2_PREFACE.length).equals(H2_PREFACE)) throw new H2Error('bad_preface');
      d.buf = d.buf.subarray(H2_PREFACE.length);
      d.needPreface = false;
    }
    for (;;) {
      if (!d.frame) {
        if (d.buf.length < 9) return;
        const len = d.buf.readUIntBE(0, 3);
        const type = d.buf[3]!;
        const flags = d.buf[4]!;
        const sid = d.buf.readUInt32BE(5) & 0x7fffffff;
        if (d.resync) {
          if (!this.plausibleAfterGap(type, sid)) throw new H2Error('resync_failed');
          d.resync = false;
        }
        if (len > this.opts.maxFrameBytes) throw new H2Error('frame_too_large');
        if (type > 9 && len > 1024 * 1024) throw new H2Error('frame_too_large');
        d.buf = d.buf.subarray(9);
        d.frame = { len, type, flags, sid, parts: [], got: 0, missing: 0 };
      }
      const f = d.frame;
      const need = f.len - f.got - f.missing;
      if (need > 0) {
        if (d.buf.length === 0) return;
        const take = Math.min(need, d.buf.length);
        f.parts.push(d.buf.subarray(0, take));
        f.got += take;
        d.buf = d.buf.subarray(take);
      }
      if (!this.maybeFrameDone(d, ts)) return;
    }
  }

  /** A frame header read where a write began after unseen frames: a known type, on a stream that makes sense for it. */
  private plausibleAfterGap(type: number, sid: number): boolean {
    if (type === DATA || type === RST_STREAM) return this.streams.has(sid);
    if (type === HEADERS) return sid !== 0;
    if (type === SETTINGS || type === GOAWAY || type === 6 /* PING */) return sid === 0;
    return type === 2 /* PRIORITY */ || type === 8 /* WINDOW_UPDATE */;
  }

  private maybeFrameDone(d: Direction, ts: bigint): boolean {
    const f = d.frame!;
    if (f.got + f.missing < f.len) return false;
    d.frame = undefined;
    const payload = f.parts.length === 1 ? f.parts[0]! : Buffer.concat(f.parts, f.got);
    this.frameDone(d, f.type, f.flags, f.sid, payload, f.missing, ts);
    return true;
  }

  private frameDone(d: Direction, type: number, flags: number, sid: number, p: Buffer, missing: number, ts: bigint): void {
    if (d.cont && type !== CONTINUATION) throw new H2Error('expected_continuation');
    switch (type) {
      case DATA: {
        if (sid === 0) throw new H2Error('data_on_stream_0');
        let body = p;
        if (flags & F_PADDED && missing === 0) {
          const pad = p[0] ?? 0;
          if (pad + 1 > p.length) throw new H2Error('bad_padding');
          body = p.subarray(1, p.length - pad);
        }
        d.lastDataSid = sid;
        const half = this.half(d.side, sid, ts, false);
        if (half) {
          half.body.add(body);
          if (missing > 0) half.body.missing(missing);
          half.endNs = ts;
          if (flags & F_END_STREAM) this.halfDone(sid, d.side, ts);
        }
        return;
      }
      case HEADERS:
      case PUSH_PROMISE: {
        let off = 0;
        let end = p.length;
        if (flags & F_PADDED) {
          const pad = p[0] ?? 0;
          off = 1;
          end = p.length - pad;
        }
        if (type === HEADERS && flags & F_PRIORITY) off += 5;
        if (type === PUSH_PROMISE) off += 4;
        if (off > end) throw new H2Error('bad_padding');
        d.cont = { sid, parts: [p.subarray(off, end)], size: end - off, endStream: (flags & F_END_STREAM) !== 0, promise: type === PUSH_PROMISE };
        if (flags & F_END_HEADERS) this.headerBlockDone(d, ts);
        return;
      }
      case CONTINUATION: {
        if (!d.cont || d.cont.sid !== sid) throw new H2Error('unexpected_continuation');
        d.cont.parts.push(p);
        d.cont.size += p.length;
        if (d.cont.size > this.opts.maxHeaderBytes) throw new H2Error('header_block_too_large');
        if (flags & F_END_HEADERS) this.headerBlockDone(d, ts);
        return;
      }
      case RST_STREAM: {
        const s = this.streams.get(sid);
        if (s) {
          this.streams.delete(sid);
          this.emit(s, false, ts);
        }
        return;
      }
      case SETTINGS: {
        if (flags & 0x1) return; // ACK
        for (let i = 0; i + 6 <= p.length; i += 6) {
          // SETTINGS_HEADER_TABLE_SIZE from one side bounds the other side's encoder.
          if (p.readUInt16BE(i) === 1) {
            const other = this.dirs[d.side === 'client' ? 'server' : 'client'];
            other.hpack.setProtocolMaxSize(Math.max(4096, p.readUInt32BE(i + 2)));
          }
        }
        return;
      }
      case GOAWAY:
        return;
      default:
        return; // PRIORITY, PING, WINDOW_UPDATE, unknown extension frames
    }
  }

  private headerBlockDone(d: Direction, ts: bigint): void {
    const c = d.cont!;
    d.cont = undefined;
    const block = c.parts.length === 1 ? c.parts[0]! : Buffer.concat(c.parts, c.size);
    // Always decode: the dynamic table must follow every block, wanted or not.
    const headers = d.hpack.decode(block);
    if (c.promise) return;
    if (d.side === 'server') {
      const st = headers.find((h) => h[0] === ':status');
      if (st && /^1\d\d$/.test(st[1]) && st[1] !== '101') return; // interim response
    }
    const half = this.half(d.side, c.sid, ts, true);
    if (!half) return;
    if (d.side === 'server' && !half.headers) {
      // The server answers a request whose END_STREAM frame may have been among the unseen frames.
      const req = this.streams.get(c.sid)?.req;
      if (req?.framesLost && !req.done) req.done = true;
    }
    if (!half.headers) half.headers = headers;
    else half.headers.push(...headers.filter((h) => !h[0].startsWith(':'))); // trailers
    half.endNs = ts;
    if (c.endStream) this.halfDone(c.sid, d.side, ts);
  }

  private half(side: Side, sid: number, ts: bigint, create: boolean): Half | undefined {
    let s = this.streams.get(sid);
    if (!s) {
      if (!create) {
        this.stats.error('protocol', 'h2_data_unknown_stream');
        return undefined;
      }
      if (this.streams.size >= this.opts.maxPendingRequests) {
        this.stats.drop('protocol', 'h2_too_many_streams');
        return undefined;
      }
      s = { id: sid };
      this.streams.set(sid, s);
    }
    const key = side === 'client' ? 'req' : 'res';
    let h = s[key];
    if (!h) {
      h = { body: new BodyCollector(this.opts.maxBodyBytes), startNs: ts, endNs: ts, done: false };
      s[key] = h;
    }
    return h;
  }

  private halfDone(sid: number, side: Side, ts: bigint): void {
    const s = this.streams.get(sid);
    if (!s) return;
    const h = side === 'client' ? s.req : s.res;
    if (h) {
      h.done = true;
      h.endNs = ts;
    }
    if (s.req?.done && s.res?.done) {
      this.streams.delete(sid);
      this.emit(s, true, ts);
    }
  }

  private emit(s: H2Stream, complete: boolean, ts: bigint): void {
    const msg = (h: Half | undefined, isReq: boolean): HttpMessage | undefined => {
      if (!h) return undefined;
      const headers = h.headers ?? [];
      const get = (n: string) => headers.find((x) => x[0] === n)?.[1];
      const base: Omit<HttpMessage, 'body' | 'wireBytes' | 'decodedBytes' | 'truncated'> = {
        headers: headers.filter((x) => !x[0].startsWith(':')),
        startNs: h.startNs,
        endNs: h.done ? h.endNs : ts,
      };
      if (isReq) {
        const m = get(':method');
        const p = get(':path');
        const a = get(':authority') ?? get('host');
        if (m !== undefined) base.method = m;
        if (p !== undefined) base.path = p;
        if (a !== undefined) base.authority = a;
      } else {
        const st = Number(get(':status'));
        if (Number.isInteger(st)) base.status = st;
      }
      if (!h.done) h.body.truncated = true;
      if (h.framesLost) {
        // The unseen bytes counted frame headers too: the declared length is the body's true size.
        const cl = get('content-length');
        if (cl !== undefined && /^\d+$/.test(cl)) h.body.wireBytes = Number(cl);
      }
      return finishBody(base, h.body, this.opts, this.stats);
    };
    this.hooks.onExchange(msg(s.req, true), msg(s.res, false), complete);
  }
}

function declaredBodySeen(h: Half): boolean {
  const cl = h.headers?.find((x) => x[0] === 'content-length')?.[1];
  return cl !== undefined && /^\d+$/.test(cl) && !h.body.truncated && h.body.wireBytes === Number(cl);
}

class H2Error extends Error {
  constructor(readonly reason: string) {
    super(`h2: ${reason}`);
  }
}
