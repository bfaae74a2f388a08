import type { RawEvent } from '../contracts/raw-event.js';
import type { Exchange } from '../contracts/exchange.js';
import { type ProtocolOptions, protocolOptions } from '../contracts/protocol-options.js';
import { StageStats } from '../observability/stage-stats.js';
import { StreamTable } from '../stream/stream-table.js';
import { HttpConnection } from './http-connection.js';
import { JsonRpcMatcher, StdioChannel } from './stdio-channel.js';

/** fd.io `reason` value for a close (AR_FLUSH_CLOSE) and `fdKind` for a socket (AR_FD_SOCKET). */
const AR_FLUSH_CLOSE = 1;
const AR_FD_SOCKET = 2;
const EXPIRE_EVERY = 4096;

/**
 * The stream + protocol stages behind one entry point. Feed decoded raw
 * events with `push`; exchanges (HTTP/1.1, HTTP/2, JSON-RPC over stdio, with
 * their LLM or MCP view) come out through `onExchange` callbacks, in the
 * order they complete. Bad input never throws: it becomes counted drops and
 * errors (`stats()`, and the Prometheus counters by stage and reason).
 */
export class ProtocolStage {
  readonly options: ProtocolOptions;
  private readonly statsObj = new StageStats();
  private readonly table: StreamTable;
  private readonly matcher: JsonRpcMatcher;
  private readonly listeners: Array<(x: Exchange) => void> = [];
  private lastNs = 0n;
  private sinceExpire = 0;

  constructor(opts: Partial<ProtocolOptions> = {}) {
    this.options = protocolOptions(opts);
    const emit = (x: Exchange) => this.emit(x);
    this.matcher = new JsonRpcMatcher(this.options, this.statsObj, emit);
    this.table = new StreamTable(this.options, this.statsObj, (ref) =>
      ref.transport === 'tls'
        ? new HttpConnection(ref, this.options, this.statsObj, emit)
        : new StdioChannel(ref, this.options, this.statsObj, this.matcher),
    );
  }

  onExchange(cb: (x: Exchange) => void): () => void {
    this.listeners.push(cb);
    return () => {
      const i = this.listeners.indexOf(cb);
      if (i !== -1) this.listeners.splice(i, 1);
    };
  }

  push(ev: RawEvent): void {
    if (ev.ktimeNs > this.lastNs) this.lastNs = ev.ktimeNs;
    try {
      switch (ev.kind) {
        case 'tls.data':
        case 'pipe.data':
          this.statsObj.count('plaintext_bytes', ev.data.length);
          this.table.push(ev);
          break;
        case 'tls.pair':
          this.table.pair(ev);
          break;
        case 'fd.io':
          if (ev.reason === AR_FLUSH_CLOSE && ev.fdKind === AR_FD_SOCKET) this.table.fdClosed(ev.pid, ev.fd, ev.ktimeNs);
          break;
        case 'proc.exit':
          if (!ev.isThread) this.table.procExited(ev.pid, ev.ktimeNs);
          break;
        default:
          break;
      }
    } catch {
      // A parser bug must not stop the sensor: count it, never echo the input.
      this.statsObj.error('protocol', 'internal');
    }
    if (++this.sinceExpire >= EXPIRE_EVERY) {
      this.sinceExpire = 0;
      this.table.expire(this.lastNs);
    }
  }

  /** Close streams idle for longer than the idle timeout, as of `nowNs` (kernel clock). */
  tick(nowNs: bigint = this.lastNs): void {
    this.table.expire(nowNs);
  }

  /** End every open stream: pending exchanges are emitted (incomplete where unanswered). */
  flush(): void {
    this.table.closeAll(this.lastNs);
  }

  /** Open streams and bytes they hold. */
  get openStreams(): number {
    return this.table.size;
  }
  get bufferedBytes(): number {
    return this.table.totalBuffered();
  }

  stats(): { drops: Record<string, number>; errors: Record<string, number>; counts: Record<string, number>; openStreams: number; bufferedBytes: number } {
    return { ...this.statsObj.snapshot(), openStreams: this.table.size, bufferedBytes: this.table.totalBuffered() };
  }

  private emit(x: Exchange): void {
    this.statsObj.count(`exchanges_${x.protocol}`);
    for (const l of this.listeners) {
      try {
        l(x);
      } catch {
        this.statsObj.error('protocol', 'listener_threw');
      }
    }
  }
}
