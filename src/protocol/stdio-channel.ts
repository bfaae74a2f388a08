import { createHash } from 'node:crypto';
import type { Exchange, StreamRef } from '../contracts/exchange.js';
import type { ProtocolOptions } from '../contracts/protocol-options.js';
import type { StageStats } from '../observability/stage-stats.js';
import type { CloseReason, Direction, StreamConsumer } from '../stream/stream-table.js';
import { type JsonRpcMessage, NdjsonFramer, classifyJsonRpc, tryJson } from './jsonrpc.js';
import { mcpCall } from './mcp.js';
import { PipeFlows } from './pipe-flows.js';

type Req = Extract<JsonRpcMessage, { kind: 'request' }>;
type Res = Extract<JsonRpcMessage, { kind: 'response' }>;

interface Pending {
  ref: StreamRef;
  msg: Req;
  ts: bigint;
  fp: string;
}

/**
 * Matches JSON-RPC requests and responses seen on pipes and unix stream
 * sockets (libuv gives a child its stdio over socketpairs). Matching is done
 * from one process's point of view: the process that wrote a request and
 * read the response with the same id (the caller), or the process that read a
 * request and wrote the response (the callee). When both ends are traced the
 * same call is seen from both sides; the callee's view is then dropped: a
 * request whose exact bytes some traced process wrote is reported once, by
 * the caller's view.
 */
export class JsonRpcMatcher {
  /** `${pid}|${id}` → request the pid wrote (caller view). */
  private readonly caller = new Map<string, Pending>();
  /** `${pid}|${id}` → request the pid read (callee view). */
  private readonly callee = new Map<string, Pending>();
  /** Fingerprints of requests some traced process wrote (most recent 4096), consumed by the callee's view. */
  private readonly written = new Map<string, number>();
  /** `${dir}|${fingerprint}` of notifications reported whose opposite copy was not seen yet (most recent 4096). */
  private readonly notified = new Map<string, number>();

  constructor(
    private readonly opts: ProtocolOptions,
    private readonly stats: StageStats,
    private readonly emit: (x: Exchange) => void,
  ) {}

  message(ref: StreamRef, dir: Direction, pid: number, m: JsonRpcMessage, fp: string, ts: bigint): void {
    if (m.kind === 'notification') {
      // Reported once: a traced writer and a traced reader see the same bytes,
      // in either order; the first copy is reported, the opposite copy skipped.
      const k = `${1 - dir}|${fp}`;
      const n = this.notified.get(k);
      if (n !== undefined) {
        if (n <= 1) this.notified.delete(k);
        else this.notified.set(k, n - 1);
        return;
      }
      const mine = `${dir}|${fp}`;
      this.notified.set(mine, (this.notified.get(mine) ?? 0) + 1);
      if (this.notified.size > 4096) this.notified.delete(this.notified.keys().next().value as string);
      this.emit({ stream: ref, protocol: 'jsonrpc-stdio', role: dir === 0 ? 'client' : 'server', mcp: mcpCall(m), startNs: ts, endNs: ts, incomplete: false });
      return;
    }
    const key = `${pid}|${JSON.stringify(m.id)}`;
    if (m.kind === 'request') {
      const map = dir === 0 ? this.caller : this.callee;
      const old = map.get(key);
      if (old) this.finish(old, dir === 0, undefined, ts, true);
      map.set(key, { ref, msg: m, ts, fp });
      if (dir === 0) {
        // Kept after the caller's view completes (the callee's view may come later); bounded.
        this.written.set(fp, (this.written.get(fp) ?? 0) + 1);
        if (this.written.size > 4096) this.written.delete(this.written.keys().next().value as string);
      }
      if (map.size > this.opts.maxPendingRequests * 16) {
        const [k, p] = map.entries().next().value as [string, Pending];
        map.delete(k);
        this.stats.drop('protocol', 'pending_requests_cap');
        this.finish(p, dir === 0, undefined, ts, true);
      }
      return;
    }
    // A response read by the caller, or written by the callee.
    const map = dir === 1 ? this.caller : this.callee;
    const p = map.get(key);
    if (!p) {
      this.stats.error('protocol', 'jsonrpc_response_without_request');
      return;
    }
    map.delete(key);
    this.finish(p, dir === 1, m as Res, ts, false);
  }

  private finish(p: Pending, callerView: boolean, res: Res | undefined, ts: bigint, incomplete: boolean): void {
    if (!callerView) {
      const n = this.written.get(p.fp);
      if (n !== undefined) {
        // The caller's view (already emitted, or still to come) reports this call.
        if (n <= 1) this.written.delete(p.fp);
        else this.written.set(p.fp, n - 1);
        this.stats.count('jsonrpc_callee_view_deduplicated');
        return;
      }
    }
    this.emit({ stream: p.ref, protocol: 'jsonrpc-stdio', role: callerView ? 'client' : 'server', mcp: mcpCall(p.msg, res), startNs: p.ts, endNs: ts, incomplete });
  }

  /** Requests of a closed pipe that never got an answer. */
  closeStream(key: string, ts: bigint): void {
    for (const [map, callerView] of [[this.caller, true], [this.callee, false]] as const) {
      for (const [k, p] of map) {
        if (p.ref.key !== key) continue;
        map.delete(k);
        this.finish(p, callerView, undefined, ts, true);
      }
    }
  }
}

/**
 * One pipe or unix stream socket end carrying newline-delimited JSON-RPC (MCP
 * stdio). Each direction is framed on its own: on a pipe both directions are
 * the same bytes (the writer's write and the reader's read), on a socket they
 * are the two halves of a conversation; the matcher sorts that out by pid.
 * A direction whose first byte is not `{` or `[` is not JSON-RPC and is ignored.
 */
export class StdioChannel implements StreamConsumer {
  private readonly state: Array<'detect' | 'jsonrpc' | 'other'> = ['detect', 'detect'];
  private readonly framers: [NdjsonFramer, NdjsonFramer];
  private readonly pid: [number, number] = [0, 0];
  private readonly ts: [bigint, bigint] = [0n, 0n];
  /** Every byte per process, for the pipe's request/response hashes when it turns out to carry no JSON-RPC. */
  private readonly flows = new PipeFlows();
  private firstNs = 0n;

  constructor(
    private readonly ref: StreamRef,
    opts: ProtocolOptions,
    private readonly stats: StageStats,
    private readonly matcher: JsonRpcMatcher,
    private readonly emitPipe: (x: Exchange) => void = () => {},
  ) {
    const mk = (dir: Direction) =>
      new NdjsonFramer(
        opts.maxLineBytes,
        (line) => this.line(dir, line),
        (r) => this.stats.drop('protocol', `jsonrpc_${r}`),
      );
    this.framers = [mk(0), mk(1)];
  }

  private spokeJsonRpc = false;

  buffered(): number {
    return this.framers[0].buffered() + this.framers[1].buffered();
  }

  data(dir: Direction, buf: Buffer, ts: bigint, pid: number): void {
    if (this.firstNs === 0n) this.firstNs = ts;
    // Once it spoke JSON-RPC the channel is an MCP exchange with its own message hashes; its pipe hashes would be dropped at close.
    if (!this.spokeJsonRpc) this.flows.data(dir, pid, buf);
    if (this.state[dir] === 'detect') {
      const s = buf.toString('latin1', 0, Math.min(buf.length, 16)).trimStart();
      if (s === '') return;
      this.state[dir] = s.startsWith('{') || s.startsWith('[') ? 'jsonrpc' : 'other';
      if (this.state[dir] === 'other') this.stats.count('pipes_not_jsonrpc');
    }
    if (this.state[dir] !== 'jsonrpc') return;
    this.pid[dir] = pid;
    this.ts[dir] = ts;
    this.framers[dir].push(buf);
  }

  gap(dir: Direction, bytes: number, _ts: bigint): void {
    this.flows.gap(dir, bytes);
    if (this.state[dir] !== 'jsonrpc') return;
    this.stats.error('protocol', 'jsonrpc_gap');
    this.framers[dir].gap();
  }

  reset(_ts: bigint): void {
    this.framers[0].reset();
    this.framers[1].reset();
  }

  close(ts: bigint, _reason: CloseReason): void {
    for (const d of [0, 1] as const) {
      this.ts[d] = ts;
      if (this.state[d] === 'jsonrpc') this.framers[d].end();
    }
    this.matcher.closeStream(this.ref.key, ts);
    this.closePipe(ts);
  }

  /**
   * A pipe or unix socket end that carried no JSON-RPC: one exchange with each traced process's
   * bytes and hashes. The event stage decides whether it joins an agent and a tool (a pipe both
   * processes touched, or a socket end, whose peer is the tool) or is a process's own pipe.
   */
  private closePipe(ts: bigint): void {
    if (this.flows.overflow > 0) this.stats.drop('protocol', 'pipe_sides_cap', this.flows.overflow);
    if (this.spokeJsonRpc || this.flows.count() === 0) {
      this.flows.done();
      return;
    }
    this.emitPipe({ stream: this.ref, protocol: 'pipe', pipe: this.flows.done(), startNs: this.firstNs, endNs: ts, incomplete: false });
  }

  private line(dir: Direction, line: Buffer): void {
    if (line.length === 0 || (line.length === 1 && line[0] === 13)) return;
    const v = tryJson(line);
    if (v === undefined) {
      this.stats.error('protocol', 'jsonrpc_bad_json');
      return;
    }
    const { messages, invalid } = classifyJsonRpc(v, line.length);
    // JSON lines that are not JSON-RPC (IPC, structured logs) are not errors until the
    // stream has carried JSON-RPC; afterwards a malformed message is.
    if (messages.length > 0) this.spokeJsonRpc = true;
    if (invalid > 0) {
      if (this.spokeJsonRpc) this.stats.error('protocol', 'jsonrpc_invalid', invalid);
      else this.stats.count('json_not_jsonrpc', invalid);
    }
    // The exact line, for request/response hashes (a batch's members share their line).
    const wire = messages.length > 0 ? Buffer.from(line) : undefined;
    for (const m of messages) {
      m.wire = wire;
      const fp = m.kind === 'response' ? '' : `${messages.length > 1 ? `${m.method}|${m.kind === 'request' ? JSON.stringify(m.id) : ''}|` : ''}${createHash('sha1').update(line).digest('base64')}`;
      this.matcher.message(this.ref, dir, this.pid[dir], m, fp, this.ts[dir]);
    }
  }
}
