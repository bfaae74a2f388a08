import type { Exchange, StreamRef } from '../contracts/exchange.js';
import { type ProtocolOptions, protocolOptions } from '../contracts/protocol-options.js';
import type { RawEvent } from '../contracts/raw-event.js';
import { StageStats } from '../observability/stage-stats.js';
import { StreamStage } from '../stream/stream-stage.js';
import type { StreamConsumer } from '../stream/stream-table.js';
import { HttpConnection } from './http-connection.js';
import { JsonRpcMatcher, StdioChannel } from './stdio-channel.js';

/**
 * The protocol stage: each byte stream the stream stage reassembles gets a
 * consumer (`consumerFor`): HTTP/1.1, HTTP/2, WebSocket and SSE over TLS,
 * JSON-RPC over stdio pipes. Exchanges (with their LLM or MCP view) come out
 * through `onExchange` callbacks, in the order they complete. Bad input never
 * throws: it becomes counted drops and errors (`stats()`, and the Prometheus
 * counters by stage and reason).
 *
 * It owns its stream stage (`stream`), so `push(ev)` feeds both in one call;
 * the pipeline routes raw records to `stream` directly.
 */
export class ProtocolStage {
  readonly options: ProtocolOptions;
  readonly stream: StreamStage;
  private readonly statsObj = new StageStats();
  private readonly matcher: JsonRpcMatcher;
  private readonly listeners: Array<(x: Exchange) => void> = [];

  constructor(opts: Partial<ProtocolOptions> = {}) {
    this.options = protocolOptions(opts);
    this.matcher = new JsonRpcMatcher(this.options, this.statsObj, (x) => this.emit(x));
    this.stream = new StreamStage(this.options, this.statsObj, (ref) => this.consumerFor(ref));
  }

  /** The parser for one stream: HTTP over TLS (the version is sniffed), JSON-RPC over a pipe. */
  consumerFor(ref: StreamRef): StreamConsumer {
    return ref.transport === 'tls' ? new HttpConnection(ref, this.options, this.statsObj, (x) => this.emit(x)) : new StdioChannel(ref, this.options, this.statsObj, this.matcher, (x) => this.emit(x));
  }

  onExchange(cb: (x: Exchange) => void): () => void {
    this.listeners.push(cb);
    return () => {
      const i = this.listeners.indexOf(cb);
      if (i !== -1) this.listeners.splice(i, 1);
    };
  }

  push(ev: RawEvent): void {
    this.stream.push(ev);
  }

  /** Close streams idle for longer than the idle timeout, as of `nowNs` (kernel clock). */
  tick(nowNs?: bigint): void {
    this.stream.tick(nowNs);
  }

  /** End every open stream: pending exchanges are emitted (incomplete where unanswered). */
  flush(): void {
    this.stream.flush();
  }

  /** Open streams and bytes they hold. */
  get openStreams(): number {
    return this.stream.openStreams;
  }
  get bufferedBytes(): number {
    return this.stream.bufferedBytes;
  }

  stats(): { drops: Record<string, number>; errors: Record<string, number>; counts: Record<string, number>; openStreams: number; bufferedBytes: number } {
    return { ...this.statsObj.snapshot(), openStreams: this.stream.openStreams, bufferedBytes: this.stream.bufferedBytes };
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
