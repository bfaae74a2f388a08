import type { PipeData, TlsData, TlsPair } from '../contracts/raw-event.js';
import type { StreamRef } from '../contracts/exchange.js';
import type { ProtocolOptions } from '../contracts/protocol-options.js';
import type { StageStats } from '../observability/stage-stats.js';

/** AR_F_TRUNCATED in bpf/include/agentrail_abi.h: the kernel captured fewer bytes than the call moved. */
export const F_TRUNCATED = 1;

export type Direction = 0 | 1;
export type CloseReason = 'fd_close' | 'proc_exit' | 'idle' | 'flush' | 'evicted';

/**
 * What the stream stage hands the protocol stage: ordered bytes per direction,
 * explicit gaps (bytes known to be missing, with their count), reset and close.
 * Direction 0 = egress (the traced process wrote), 1 = ingress (it read).
 */
export interface StreamConsumer {
  data(dir: Direction, buf: Buffer, ts: bigint, pid: number): void;
  gap(dir: Direction, bytes: number, ts: bigint): void;
  /** Drop all parser state (a buffer cap was hit); parsing resynchronises. */
  reset(ts: bigint): void;
  close(ts: bigint, reason: CloseReason): void;
  /** Bytes currently held unparsed (for the per-stream and total caps). */
  buffered(): number;
}

interface CallAsm {
  seq: bigint;
  callLen: number;
  expect: number;
  chunks: Array<{ off: number; buf: Buffer }>;
  got: number;
  ts: bigint;
  pid: number;
}

interface Entry {
  ref: StreamRef;
  consumer: StreamConsumer;
  lastNs: bigint;
  calls: [CallAsm | undefined, CallAsm | undefined];
  /** Pids that touched the stream (pipes: writers and readers). */
  pids: Set<number>;
  held: number;
  /** Pipes whose every known process exited: closed at this kernel time unless another process reads or writes first. */
  closeAtNs?: bigint;
}

/**
 * How long a pipe outlives the last process seen on it. Its bytes outlive their writer: a tool
 * writes its answer and exits, and the agent reads it from the pipe buffer after that exit — the
 * reader's records may come after the writer's exit record (measured under load in CI: closing at
 * the exit split one conversation into two one-sided streams, and the agent's end was lost).
 */
const PIPE_LINGER_NS = 2_000_000_000n;

/**
 * Per-connection reassembly: TLS plaintext keyed by (pid, SSL*), pipe data by
 * pipe inode, both directions. Chunks of one SSL/pipe call are put back in
 * order by offset (they may arrive out of order), a call cut by the kernel's
 * capture cap or with lost chunks becomes an explicit gap of the exact number
 * of missing bytes, buffers are bounded per stream and in total, and streams
 * close on socket close, process exit or idle timeout.
 */
export class StreamTable {
  private readonly entries = new Map<string, Entry>();
  private readonly byPid = new Map<number, Set<string>>();
  private readonly byFd = new Map<string, Set<string>>();
  private total = 0;

  constructor(
    private readonly opts: ProtocolOptions,
    private readonly stats: StageStats,
    private readonly factory: (ref: StreamRef) => StreamConsumer,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  totalBuffered(): number {
    return this.total;
  }

  keyOf(ev: TlsData | PipeData): string {
    return ev.kind === 'tls.data' ? `tls:${ev.pid}:${ev.sslPtr.toString(16)}` : `pipe:${ev.pipeIno.toString()}`;
  }

  push(ev: TlsData | PipeData): void {
    const key = this.keyOf(ev);
    let e = this.entries.get(key);
    if (!e) {
      const ref: StreamRef = {
        key,
        transport: ev.kind === 'tls.data' ? 'tls' : 'pipe',
        pid: ev.pid,
        tid: ev.tid,
        cgroupId: ev.cgroupId,
        fd: -1, // set (and indexed for close) below
      };
      // Bounded count: connections an agent opens and never closes must not grow the table.
      // Map order is opening order, so the first key is the oldest-opened stream.
      if (this.entries.size >= this.opts.maxStreams) {
        this.stats.drop('stream', 'stream_table_full');
        this.close(this.entries.keys().next().value as string, ev.ktimeNs, 'evicted');
      }
      e = { ref, consumer: this.factory(ref), lastNs: ev.ktimeNs, calls: [undefined, undefined], pids: new Set(), held: 0 };
      this.entries.set(key, e);
      this.stats.count('streams_opened');
    }
    e.lastNs = ev.ktimeNs;
    if (e.closeAtNs !== undefined) delete e.closeAtNs; // the reader came: the conversation goes on
    if (!e.pids.has(ev.pid)) {
      e.pids.add(ev.pid);
      let s = this.byPid.get(ev.pid);
      if (!s) this.byPid.set(ev.pid, (s = new Set()));
      s.add(key);
    }
    if (ev.kind === 'tls.data' && ev.fd >= 0 && e.ref.fd !== ev.fd) this.setFd(e, ev.fd);
    // A pipe's first fd, not indexed for close (pipes end with their processes): tells a tool's own stdio end (fd 0-2).
    else if (ev.kind === 'pipe.data' && e.ref.fd < 0 && ev.fd >= 0) e.ref.fd = ev.fd;
    const dir = ev.direction;
    const seq = ev.kind === 'tls.data' ? ev.callSeq : -1n;
    let c = e.calls[dir];
    const newCall =
      !c ||
      c.callLen !== ev.callLen ||
      (ev.kind === 'tls.data' ? c.seq !== seq : ev.chunkOffset === 0 && c.chunks.some((x) => x.off === 0));
    if (c && newCall) this.finishCall(e, dir, c);
    if (!c || newCall) {
      // Calls on one connection follow each other: a new call means the call
      // still open in the other direction lost its remaining chunks.
      const other = e.calls[(dir ^ 1) as Direction];
      if (other) this.finishCall(e, (dir ^ 1) as Direction, other);
      const truncated = (ev.flags & F_TRUNCATED) !== 0;
      c = {
        seq,
        callLen: ev.callLen,
        expect: truncated ? Math.min(ev.callLen, ev.kind === 'tls.data' ? this.opts.tlsCaptureCap : this.opts.pipeCaptureCap) : ev.callLen,
        chunks: [],
        got: 0,
        ts: ev.ktimeNs,
        pid: ev.pid,
      };
      e.calls[dir] = c;
    }
    if (ev.chunkOffset + ev.data.length > ev.callLen) {
      this.stats.error('stream', 'bad_chunk');
      return;
    }
    if (c.got + ev.data.length > this.opts.streamBufferCap) {
      // Lost chunk; the call ends with a gap where it would have been.
      this.stats.drop('stream', 'call_over_cap');
      return;
    }
    // Kept as it is: the decoders copy every payload out of its batch (src/native/records/tls-data.ts,
    // pipe-data.ts), so a record's data is its own; a second copy here cost a memcpy and GC per chunk.
    c.chunks.push({ off: ev.chunkOffset, buf: ev.data });
    c.got += ev.data.length;
    c.ts = ev.ktimeNs;
    if (c.got >= c.expect) this.finishCall(e, dir, c);
  }

  pair(ev: TlsPair): void {
    const e = this.entries.get(`tls:${ev.pid}:${ev.sslPtr.toString(16)}`);
    if (e && ev.fd >= 0) this.setFd(e, ev.fd);
  }

  /** A socket fd closed: TLS streams paired with it end. */
  fdClosed(pid: number, fd: number, ts: bigint): void {
    const keys = this.byFd.get(`${pid}:${fd}`);
    if (!keys) return;
    for (const k of [...keys]) this.close(k, ts, 'fd_close');
  }

  /** A process exited: its TLS streams end; pipes end once no process that touched them is left. */
  procExited(pid: number, ts: bigint): void {
    const keys = this.byPid.get(pid);
    this.byPid.delete(pid);
    if (!keys) return;
    for (const k of keys) {
      const e = this.entries.get(k);
      if (!e) continue;
      e.pids.delete(pid);
      if (e.ref.transport === 'tls') this.close(k, ts, 'proc_exit');
      else if (e.pids.size === 0) e.closeAtNs = ts + PIPE_LINGER_NS;
    }
  }

  /** A `pipe:<ino>` stream is a unix socket end (fd.io carries the fd kind): kept on the stream itself. */
  markSocket(ino: bigint): void {
    const e = this.entries.get(`pipe:${ino.toString()}`);
    if (e) e.ref.socket = true;
  }

  /** Close streams idle since before `nowNs - idleTimeoutNs`. */
  expire(nowNs: bigint): void {
    const limit = nowNs - this.opts.idleTimeoutNs;
    for (const [k, e] of this.entries) {
      if (e.closeAtNs !== undefined && e.closeAtNs <= nowNs) this.close(k, e.closeAtNs, 'proc_exit');
      else if (e.lastNs < limit) this.close(k, nowNs, 'idle');
    }
  }

  closeAll(ts: bigint): void {
    for (const k of [...this.entries.keys()]) this.close(k, ts, 'flush');
  }

  close(key: string, ts: bigint, reason: CloseReason): void {
    const e = this.entries.get(key);
    if (!e) return;
    for (const dir of [0, 1] as const) {
      const c = e.calls[dir];
      if (c) this.finishCall(e, dir, c);
    }
    this.entries.delete(key);
    for (const p of e.pids) this.byPid.get(p)?.delete(key);
    if (e.ref.fd >= 0) this.byFd.get(`${e.ref.pid}:${e.ref.fd}`)?.delete(key);
    this.total -= e.held;
    e.consumer.close(ts, reason);
    this.stats.count(`streams_closed_${reason}`);
  }

  private setFd(e: Entry, fd: number): void {
    if (e.ref.fd >= 0) this.byFd.get(`${e.ref.pid}:${e.ref.fd}`)?.delete(e.ref.key);
    e.ref.fd = fd;
    const k = `${e.ref.pid}:${fd}`;
    let s = this.byFd.get(k);
    if (!s) this.byFd.set(k, (s = new Set()));
    s.add(e.ref.key);
  }

  /** Deliver a call's bytes in offset order, turning holes and the uncaptured tail into gaps. */
  private finishCall(e: Entry, dir: Direction, c: CallAsm): void {
    e.calls[dir] = undefined;
    c.chunks.sort((a, b) => a.off - b.off);
    let pos = 0;
    const parts: Buffer[] = [];
    const flush = () => {
      if (parts.length === 0) return;
      // One fresh copy: capture buffers may be views into a reused batch.
      const buf = Buffer.concat(parts);
      parts.length = 0;
      e.consumer.data(dir, buf, c.ts, c.pid);
    };
    for (const ch of c.chunks) {
      let b = ch.buf;
      if (ch.off < pos) {
        if (ch.off + b.length <= pos) continue; // duplicate
        b = b.subarray(pos - ch.off);
      } else if (ch.off > pos) {
        flush();
        this.stats.drop('stream', 'chunk_missing');
        e.consumer.gap(dir, ch.off - pos, c.ts);
        pos = ch.off;
      }
      parts.push(b);
      pos += b.length;
    }
    flush();
    if (pos < c.callLen) {
      this.stats.drop('stream', pos >= c.expect ? 'call_truncated' : 'chunk_missing');
      e.consumer.gap(dir, c.callLen - pos, c.ts);
    }
    this.checkCaps(e, c.ts);
  }

  private checkCaps(e: Entry, ts: bigint): void {
    let held = e.consumer.buffered();
    this.total += held - e.held;
    e.held = held;
    if (held > this.opts.streamBufferCap || this.total > this.opts.totalBufferCap) {
      this.stats.drop('stream', held > this.opts.streamBufferCap ? 'stream_buffer_cap' : 'total_buffer_cap');
      e.consumer.reset(ts);
      held = e.consumer.buffered();
      this.total += held - e.held;
      e.held = held;
    }
  }
}
