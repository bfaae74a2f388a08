import type { Exchange, HttpMessage, StreamRef } from '../contracts/exchange.js';
import type { ProtocolOptions } from '../contracts/protocol-options.js';
import type { StageStats } from '../observability/stage-stats.js';
import type { CloseReason, Direction, StreamConsumer } from '../stream/stream-table.js';
import { annotateHttp } from './annotate.js';
import { header } from './body.js';
import { Http1Parser } from './http1.js';
import { H2_PREFACE, Http2Connection } from './http2/connection.js';
import { WebSocketSession } from './ws-session.js';

const METHOD_PREFIX = /^(GET|POST|PUT|DELETE|PATCH|HEAD|OPTIONS|CONNECT|TRACE) /;
const DETECT_MAX = 64;

/**
 * One TLS connection: detects HTTP/1.1 or HTTP/2 and which side the traced
 * process plays (client when it writes requests, server when it writes
 * responses), then pairs requests with responses and emits exchanges.
 */
export class HttpConnection implements StreamConsumer {
  private mode: 'detect' | 'http1' | 'h2' = 'detect';
  /** Which direction carries requests. */
  private reqDir: Direction = 0;
  private pending: Array<{ dir: Direction; buf: Buffer; ts: bigint; pid: number }> = [];
  private pendingBytes = 0;
  private h1req: Http1Parser | undefined;
  private h1res: Http1Parser | undefined;
  private queue: HttpMessage[] = [];
  private queuedBytes = 0;
  private h2: Http2Connection | undefined;
  /** issue-10c: set once a 101 switched the connection to WebSocket. */
  private ws: WebSocketSession | undefined;

  constructor(
    private readonly ref: StreamRef,
    private readonly opts: ProtocolOptions,
    private readonly stats: StageStats,
    private readonly emit: (x: Exchange) => void,
  ) {}

  buffered(): number {
    if (this.mode === 'detect') return this.pendingBytes;
    if (this.mode === 'h2') return this.h2!.buffered();
    return this.h1req!.buffered() + this.h1res!.buffered() + this.queuedBytes;
  }

  data(dir: Direction, buf: Buffer, ts: bigint, pid: number): void {
    if (this.mode === 'detect') {
      this.pending.push({ dir, buf, ts, pid });
      this.pendingBytes += buf.length;
      const mine = Buffer.concat(this.pending.filter((p) => p.dir === dir).map((p) => p.buf));
      if (!this.detect(dir, mine)) return;
      const p = this.pending;
      this.pending = [];
      this.pendingBytes = 0;
      for (const x of p) this.route(x.dir, x.buf, x.ts);
      return;
    }
    this.route(dir, buf, ts);
  }

  gap(dir: Direction, bytes: number, ts: bigint): void {
    if (this.mode === 'detect') {
      // Nothing to anchor on yet: what came before the gap is unusable.
      this.pending = this.pending.filter((p) => p.dir !== dir);
      this.pendingBytes = this.pending.reduce((n, p) => n + p.buf.length, 0);
      this.stats.error('protocol', 'gap_before_detect');
      return;
    }
    if (this.mode === 'h2') return this.h2!.gap(dir === this.reqDir ? 'client' : 'server', bytes, ts);
    if (this.ws) return this.ws.gap(dir, bytes); // issue-10c
    (dir === this.reqDir ? this.h1req! : this.h1res!).gap(bytes, ts);
  }

  reset(ts: bigint): void {
    if (this.mode === 'detect') {
      this.pending = [];
      this.pendingBytes = 0;
    } else if (this.mode === 'h2') this.h2!.reset(ts);
    else {
      this.h1req!.reset(ts);
      this.h1res!.reset(ts);
      this.flushQueue(ts);
    }
  }

  close(ts: bigint, _reason: CloseReason): void {
    this.ws?.end(ts); // issue-10c
    if (this.mode === 'h2') this.h2!.end(ts);
    else if (this.mode === 'http1') {
      this.h1req!.end(ts);
      this.h1res!.end(ts);
      this.flushQueue(ts);
    } else if (this.pendingBytes > 0) this.stats.count('streams_undetected');
  }

  private detect(dir: Direction, b: Buffer): boolean {
    const n = Math.min(b.length, H2_PREFACE.length);
    if (b.subarray(0, n).equals(H2_PREFACE.subarray(0, n))) {
      if (b.length < H2_PREFACE.length) return false;
      this.startH2(dir);
      return true;
    }
    const s = b.toString('latin1', 0, Math.min(b.length, DETECT_MAX));
    if (s.startsWith('HTTP/1.')) {
      this.startH1((dir ^ 1) as Direction);
      return true;
    }
    if (METHOD_PREFIX.test(s)) {
      this.startH1(dir);
      return true;
    }
    if (s.length < 8 && /^[A-Z]*$/.test(s)) return false;
    // An HTTP/2 server may send its SETTINGS frame before the client preface
    // arrives: wait for the other direction.
    if (b.length >= 9 && b[3] === 4 && b.readUInt32BE(5) === 0 && this.pendingBytes < 64 * 1024) return false;
    // Unknown bytes (another protocol, or a capture that started mid-connection):
    // HTTP/1.1 parsers resynchronise on the next start line if one ever comes.
    this.stats.count('streams_resync_start');
    this.startH1(0);
    return true;
  }

  private startH2(clientDir: Direction): void {
    this.mode = 'h2';
    this.reqDir = clientDir;
    this.h2 = new Http2Connection(this.opts, this.stats, {
      onExchange: (req, res, complete) => this.deliver('http2', req, res, !complete),
    });
  }

  private startH1(reqDir: Direction): void {
    this.mode = 'http1';
    this.reqDir = reqDir;
    this.h1req = new Http1Parser('request', this.opts, this.stats, {
      onMessage: (m) => {
        if (this.queue.length >= this.opts.maxPendingRequests) {
          this.stats.drop('protocol', 'pending_requests_cap');
          const old = this.queue.shift()!;
          this.queuedBytes -= old.body.length;
          this.deliver('http1', old, undefined, true);
        }
        this.queue.push(m);
        this.queuedBytes += m.body.length;
      },
    });
    this.h1res = new Http1Parser('response', this.opts, this.stats, {
      requestMethod: () => this.queue[0]?.method,
      onMessage: (m, meta) => {
        if (meta.interim) return;
        const req = this.queue.shift();
        if (req) this.queuedBytes -= req.body.length;
        else this.stats.error('protocol', 'response_without_request');
        // Before delivery: the delivered exchange is wiped (headers emptied) once its events are built.
        this.maybeWebSocket(req, m); // issue-10c
        this.deliver('http1', req, m, !meta.complete);
      },
      onOpaque: (buf, ts) => this.ws?.feed((this.reqDir ^ 1) as Direction, buf, ts), // issue-10c
      onAbandon: () => {
        const req = this.queue.shift();
        if (req) {
          this.queuedBytes -= req.body.length;
          this.deliver('http1', req, undefined, true);
        }
      },
    });
  }

  /** issue-10c: a `101` answering `Upgrade: websocket` hands both directions to a WebSocket session. */
  private maybeWebSocket(req: HttpMessage | undefined, res: HttpMessage): void {
    if (res.status !== 101 || !req || !/websocket/i.test(header(res.headers, 'upgrade') ?? '')) return;
    this.ws = new WebSocketSession(this.reqDir, req, res, this.opts, this.stats, (q, r, incomplete) => this.deliver('http1', q, r, incomplete));
  }

  private route(dir: Direction, buf: Buffer, ts: bigint): void {
    if (this.ws) return this.ws.feed(dir, buf, ts); // issue-10c
    if (this.mode === 'h2') this.h2!.feed(dir === this.reqDir ? 'client' : 'server', buf, ts);
    else (dir === this.reqDir ? this.h1req! : this.h1res!).feed(buf, ts);
  }

  private flushQueue(ts: bigint): void {
    for (const req of this.queue) this.deliver('http1', req, undefined, true, ts);
    this.queue = [];
    this.queuedBytes = 0;
  }

  private deliver(protocol: 'http1' | 'http2', req: HttpMessage | undefined, res: HttpMessage | undefined, incomplete: boolean, ts?: bigint): void {
    const x: Exchange = {
      stream: this.ref,
      protocol,
      role: this.reqDir === 0 ? 'client' : 'server',
      startNs: req?.startNs ?? res?.startNs ?? ts ?? 0n,
      endNs: res?.endNs ?? req?.endNs ?? ts ?? 0n,
      incomplete,
    };
    if (req) x.request = req;
    if (res) x.response = res;
    if (incomplete) this.stats.count('exchanges_incomplete');
    for (const out of annotateHttp(x, this.stats)) this.emit(out);
  }
}
