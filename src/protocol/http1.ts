import type { HttpMessage } from '../contracts/exchange.js';
import type { ProtocolOptions } from '../contracts/protocol-options.js';
import type { StageStats } from '../observability/stage-stats.js';
import { BodyCollector, finishBody, header } from './body.js';

export interface Http1MessageMeta {
  /** 1xx other than 101: not the final response. */
  interim: boolean;
  /** False when the stream ended or lost sync inside this message. */
  complete: boolean;
}

export interface Http1Hooks {
  onMessage(msg: HttpMessage, meta: Http1MessageMeta): void;
  /** Response parser: method of the request this response answers (HEAD and CONNECT have no body). */
  requestMethod?(): string | undefined;
  /** The parser gave up on a message it had started (gap or garbage). */
  onAbandon?(): void;
  /** issue-10c: bytes that follow a 101 or CONNECT response head (a WebSocket or tunnel). */
  onOpaque?(buf: Buffer, ts: bigint): void;
}

const METHODS = new Set(['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS', 'CONNECT', 'TRACE']);
const REQ_LINE = /^([A-Z]{3,7}) (\S+) HTTP\/1\.[01]$/;
const RES_LINE = /^HTTP\/1\.[01] (\d{3})(?: .*)?$/;
const MAX_START_LINE = 16 * 1024;

type State = 'start' | 'resync' | 'head' | 'body-length' | 'chunk-size' | 'chunk-data' | 'chunk-crlf' | 'trailers' | 'body-close' | 'opaque';

/** Incremental HTTP/1.1 parser for one direction of a connection (RFC 9112). */
export class Http1Parser {
  private state: State = 'start';
  private buf: Buffer = Buffer.alloc(0);
  private remaining = 0;
  private cur: Omit<HttpMessage, 'body' | 'wireBytes' | 'decodedBytes' | 'truncated'> | undefined;
  private body: BodyCollector | undefined;
  private closeAfter = false;
  private deferred: Buffer[] = [];
  private deferredBytes = 0;

  constructor(
    readonly kind: 'request' | 'response',
    private readonly opts: ProtocolOptions,
    private readonly stats: StageStats,
    private readonly hooks: Http1Hooks,
  ) {}

  buffered(): number {
    return this.buf.length + this.deferredBytes + (this.body?.kept ?? 0);
  }

  feed(chunk: Buffer, ts: bigint): void {
    if (this.deferred.length > 0 || ((this.state === 'head' || this.state === 'trailers') && this.buf.length > 0 && chunk.indexOf(10) === -1)) {
      // A header section can only end with LF: without one, collect the
      // pieces and parse nothing yet (linear in the bytes, whatever the split).
      this.deferred.push(chunk);
      this.deferredBytes += chunk.length;
      if (chunk.indexOf(10) === -1 && this.buf.length + this.deferredBytes <= this.opts.maxHeaderBytes) return;
      chunk = Buffer.concat(this.deferred, this.deferredBytes);
      this.deferred = [];
      this.deferredBytes = 0;
    }
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    let guard = 0;
    while (this.buf.length > 0 && this.step(ts)) {
      if (++guard > 1_000_000) break;
    }
  }

  /** `n` bytes are missing from the stream at this point (a truncated capture). */
  gap(n: number, ts: bigint): void {
    if (n <= 0) return;
    this.undefer(ts);
    // Bytes still buffered come before the gap: parse them first.
    switch (this.state) {
      case 'body-length': {
        const m = Math.min(n, this.remaining);
        this.body!.missing(m);
        this.remaining -= m;
        if (this.remaining === 0) this.finish(ts, true);
        if (n > m) this.lose('gap');
        return;
      }
      case 'chunk-data':
        if (n <= this.remaining) {
          this.body!.missing(n);
          this.remaining -= n;
          if (this.remaining === 0) this.state = 'chunk-crlf';
          return;
        }
        this.body!.missing(this.remaining);
        this.abandon(ts);
        this.lose('gap');
        return;
      case 'body-close':
        this.body!.missing(n);
        return;
      case 'opaque':
        return;
      case 'start':
      case 'resync':
        this.buf = Buffer.alloc(0);
        this.state = 'resync';
        this.stats.error('protocol', 'http1_gap');
        return;
      default:
        this.abandon(ts);
        this.lose('gap');
    }
  }

  /** The stream closed. */
  end(ts: bigint): void {
    this.undefer(ts);
    if (this.state === 'body-close') this.finish(ts, true);
    else if (this.cur) this.abandon(ts);
    this.buf = Buffer.alloc(0);
  }

  /** Drop all state (buffer cap hit): resynchronise on the next start line. */
  reset(ts: bigint): void {
    this.deferred = [];
    this.deferredBytes = 0;
    if (this.cur) this.abandon(ts);
    this.buf = Buffer.alloc(0);
    this.state = 'resync';
  }

  private undefer(ts: bigint): void {
    if (this.deferred.length === 0) return;
    const b = Buffer.concat(this.deferred, this.deferredBytes);
    this.deferred = [];
    this.deferredBytes = 0;
    this.buf = this.buf.length === 0 ? b : Buffer.concat([this.buf, b]);
    while (this.buf.length > 0 && this.step(ts));
  }

  private lose(reason: string): void {
    this.stats.error('protocol', `http1_${reason}`);
    this.buf = Buffer.alloc(0);
    this.state = 'resync';
  }

  /** Emit the message in progress as incomplete. */
  private abandon(ts: bigint): void {
    if (this.cur && this.body) {
      this.body.truncated = true;
      const msg = finishBody({ ...this.cur, endNs: ts }, this.body, this.opts, this.stats);
      this.cur = undefined;
      this.body = undefined;
      this.hooks.onMessage(msg, { interim: false, complete: false });
    } else this.hooks.onAbandon?.();
    this.cur = undefined;
    this.body = undefined;
  }

  private finish(ts: bigint, complete: boolean): void {
    const msg = finishBody({ ...this.cur!, endNs: ts }, this.body!, this.opts, this.stats);
    this.cur = undefined;
    this.body = undefined;
    this.state = this.closeAfter ? 'resync' : 'start';
    this.hooks.onMessage(msg, { interim: false, complete });
  }

  /** One parsing step; false when more bytes are needed. */
  private step(ts: bigint): boolean {
    switch (this.state) {
      case 'start': {
        // Tolerate empty lines before a start line (RFC 9112 §2.2).
        let i = 0;
        while (i < this.buf.length && (this.buf[i] === 13 || this.buf[i] === 10)) i++;
        if (i > 0) this.buf = this.buf.subarray(i);
        if (this.buf.length === 0) return false;
        const nl = this.buf.indexOf(10);
        if (nl === -1) {
          if (!this.plausiblePrefix()) {
            this.stats.error('protocol', 'http1_garbage');
            this.state = 'resync';
            return true;
          }
          if (this.buf.length > MAX_START_LINE) {
            this.stats.error('protocol', 'http1_start_line_too_long');
            this.state = 'resync';
            return true;
          }
          return false;
        }
        if (!this.startLineOk(this.buf.toString('latin1', 0, nl).replace(/\r$/, ''))) {
          this.stats.error('protocol', 'http1_garbage');
          this.state = 'resync';
          return true;
        }
        this.state = 'head';
        return true;
      }
      case 'resync':
        return this.resync();
      case 'head':
        return this.head(ts);
      case 'body-length': {
        const n = Math.min(this.remaining, this.buf.length);
        this.body!.add(this.buf.subarray(0, n));
        this.buf = this.buf.subarray(n);
        this.remaining -= n;
        if (this.remaining === 0) this.finish(ts, true);
        return true;
      }
      case 'body-close':
        this.body!.add(this.buf);
        this.buf = Buffer.alloc(0);
        return false;
      case 'chunk-size': {
        const nl = this.buf.indexOf(10);
        if (nl === -1) {
          if (this.buf.length > 1024) {
            this.abandon(ts);
            this.lose('bad_chunk');
            return true;
          }
          return false;
        }
        const line = this.buf.toString('latin1', 0, nl).replace(/\r$/, '');
        this.buf = this.buf.subarray(nl + 1);
        const m = /^([0-9a-fA-F]{1,8})[ \t]*(?:;.*)?$/.exec(line);
        if (!m) {
          this.abandon(ts);
          this.lose('bad_chunk');
          return true;
        }
        const size = parseInt(m[1]!, 16);
        if (size === 0) this.state = 'trailers';
        else {
          this.remaining = size;
          this.state = 'chunk-data';
        }
        return true;
      }
      case 'chunk-data': {
        const n = Math.min(this.remaining, this.buf.length);
        this.body!.add(this.buf.subarray(0, n));
        this.buf = this.buf.subarray(n);
        this.remaining -= n;
        if (this.remaining === 0) this.state = 'chunk-crlf';
        return true;
      }
      case 'chunk-crlf': {
        if (this.buf[0] === 13) {
          if (this.buf.length < 2) return false;
          this.buf = this.buf.subarray(this.buf[1] === 10 ? 2 : 1);
        } else if (this.buf[0] === 10) this.buf = this.buf.subarray(1);
        else {
          this.abandon(ts);
          this.lose('bad_chunk');
          return true;
        }
        this.state = 'chunk-size';
        return true;
      }
      case 'trailers': {
        const nl = this.buf.indexOf(10);
        if (nl === -1) {
          if (this.buf.length > this.opts.maxHeaderBytes) {
            this.abandon(ts);
            this.lose('bad_chunk');
            return true;
          }
          return false;
        }
        const line = this.buf.toString('latin1', 0, nl).replace(/\r$/, '');
        this.buf = this.buf.subarray(nl + 1);
        if (line === '') this.finish(ts, true);
        return true;
      }
      case 'opaque':
        // issue-10c: bytes after a 101/CONNECT head belong to the new protocol.
        if (this.buf.length > 0) this.hooks.onOpaque?.(this.buf, ts);
        this.buf = Buffer.alloc(0);
        return false;
    }
  }

  private plausiblePrefix(): boolean {
    const s = this.buf.toString('latin1', 0, Math.min(this.buf.length, 9));
    if (this.kind === 'response') return 'HTTP/1.'.startsWith(s.slice(0, 7)) || s.startsWith('HTTP/1.');
    const sp = s.indexOf(' ');
    const tok = sp === -1 ? s : s.slice(0, sp);
    return /^[A-Z]*$/.test(tok) && (sp === -1 ? tok.length <= 7 : METHODS.has(tok));
  }

  private startLineOk(line: string): boolean {
    if (this.kind === 'request') {
      const m = REQ_LINE.exec(line);
      return m !== null && METHODS.has(m[1]!);
    }
    return RES_LINE.test(line);
  }

  /** Find the next plausible start line; keep a bounded tail when none is found. */
  private resync(): boolean {
    const needle = this.kind === 'request' ? ' HTTP/1.' : 'HTTP/1.';
    let from = 0;
    for (;;) {
      const at = this.buf.indexOf(needle, from, 'latin1');
      if (at === -1) break;
      const lineStart = this.kind === 'request' ? this.buf.lastIndexOf(10, at) + 1 : at;
      const nl = this.buf.indexOf(10, at);
      if (nl === -1) {
        this.buf = this.buf.subarray(lineStart);
        if (this.buf.length > MAX_START_LINE) this.buf = this.buf.subarray(this.buf.length - MAX_START_LINE);
        return false;
      }
      let line = this.buf.toString('latin1', lineStart, nl).replace(/\r$/, '');
      if (this.kind === 'request') {
        // A method token may follow garbage on the same line.
        const m = /([A-Z]{3,7}) \S+ HTTP\/1\.[01]$/.exec(line);
        if (m && METHODS.has(m[1]!)) {
          const start = lineStart + Buffer.byteLength(line.slice(0, m.index), 'latin1');
          this.buf = this.buf.subarray(start);
          this.state = 'head';
          return true;
        }
      } else if (this.startLineOk(line)) {
        this.buf = this.buf.subarray(lineStart);
        this.state = 'head';
        return true;
      }
      line = '';
      from = at + 1;
    }
    if (this.buf.length > MAX_START_LINE) this.buf = this.buf.subarray(this.buf.length - MAX_START_LINE);
    return false;
  }

  private head(ts: bigint): boolean {
    let end = -1;
    let sepLen = 0;
    for (let i = this.buf.indexOf(10); i !== -1; i = this.buf.indexOf(10, i + 1)) {
      if (this.buf[i + 1] === 10) {
        end = i + 1;
        sepLen = 1;
        break;
      }
      if (this.buf[i + 1] === 13 && this.buf[i + 2] === 10) {
        end = i + 1;
        sepLen = 2;
        break;
      }
      if (i + 2 >= this.buf.length) break;
    }
    if (end === -1) {
      if (this.buf.length > this.opts.maxHeaderBytes) {
        this.stats.drop('protocol', 'http1_header_too_large');
        this.hooks.onAbandon?.();
        this.buf = Buffer.alloc(0);
        this.state = 'resync';
        return false;
      }
      return false;
    }
    const text = this.buf.toString('latin1', 0, end);
    this.buf = this.buf.subarray(end + sepLen);
    const lines = text.split(/\r?\n/);
    if (lines[lines.length - 1] === '') lines.pop();
    const startLine = lines.shift() ?? '';
    const headers: Array<[string, string]> = [];
    for (const l of lines) {
      if ((l.startsWith(' ') || l.startsWith('\t')) && headers.length > 0) {
        const last = headers[headers.length - 1]!;
        last[1] = `${last[1]} ${l.trim()}`;
        continue;
      }
      const c = l.indexOf(':');
      if (c <= 0) {
        this.stats.error('protocol', 'http1_bad_header');
        this.hooks.onAbandon?.();
        this.state = 'resync';
        return true;
      }
      headers.push([l.slice(0, c).trim().toLowerCase(), l.slice(c + 1).trim()]);
    }
    const msg: Omit<HttpMessage, 'body' | 'wireBytes' | 'decodedBytes' | 'truncated'> = { headers, startNs: ts, endNs: ts };
    const conn = (header(headers, 'connection') ?? '').toLowerCase();
    this.closeAfter = conn.split(',').some((t) => t.trim() === 'close');
    const te = (header(headers, 'transfer-encoding') ?? '').toLowerCase();
    const cl = header(headers, 'content-length');
    const chunked = te.split(',').map((s) => s.trim()).pop() === 'chunked';
    let bodyMode: 'none' | 'length' | 'chunked' | 'close' | 'opaque' = 'none';
    let interim = false;
    if (this.kind === 'request') {
      const m = REQ_LINE.exec(startLine)!;
      msg.method = m[1]!;
      msg.path = m[2]!;
      const host = header(headers, 'host');
      if (host !== undefined) msg.authority = host;
      if (chunked) bodyMode = 'chunked';
      else if (cl !== undefined) bodyMode = 'length';
    } else {
      const status = Number(RES_LINE.exec(startLine)![1]);
      msg.status = status;
      const reqMethod = this.hooks.requestMethod?.();
      if (status === 101) bodyMode = 'opaque';
      else if (status >= 100 && status < 200) interim = true;
      else if (reqMethod === 'HEAD' || status === 204 || status === 304) bodyMode = 'none';
      else if (reqMethod === 'CONNECT' && status >= 200 && status < 300) bodyMode = 'opaque';
      else if (chunked) bodyMode = 'chunked';
      else if (cl !== undefined) bodyMode = 'length';
      else bodyMode = 'close';
    }
    this.cur = msg;
    this.body = new BodyCollector(this.opts.maxBodyBytes);
    if (interim) {
      this.cur = undefined;
      const b = this.body;
      this.body = undefined;
      this.state = 'start';
      this.hooks.onMessage(finishBody({ ...msg, endNs: ts }, b, this.opts, this.stats), { interim: true, complete: true });
      return true;
    }
    switch (bodyMode) {
      case 'none':
        this.finish(ts, true);
        break;
      case 'length': {
        const n = Number(cl);
        if (!/^\d+$/.test(cl!.trim()) || !Number.isSafeInteger(n)) {
          this.cur = undefined;
          this.body = undefined;
          this.hooks.onAbandon?.();
          this.lose('bad_content_length');
          return true;
        }
        this.remaining = n;
        if (n === 0) this.finish(ts, true);
        else this.state = 'body-length';
        break;
      }
      case 'chunked':
        this.state = 'chunk-size';
        break;
      case 'close':
        this.state = 'body-close';
        break;
      case 'opaque':
        this.finish(ts, true);
        this.state = 'opaque';
        break;
    }
    return true;
  }
}
