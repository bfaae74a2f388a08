import type { HttpMessage, SseEvent } from '../contracts/exchange.js';
import type { ProtocolOptions } from '../contracts/protocol-options.js';
import type { StageStats } from '../observability/stage-stats.js';
import type { Direction } from '../stream/stream-table.js';
import { header } from './body.js';
import { tryJson } from './jsonrpc.js';
import { WebSocketParser, negotiatedDeflate, type WsMessage } from './websocket.js';

/** Server events that end one Responses API turn over a WebSocket. */
const TERMINAL = new Set(['response.completed', 'response.failed', 'response.incomplete', 'error']);

/**
 * A connection after a `101 Switching Protocols` to WebSocket. Frames are
 * parsed per direction; the OpenAI Responses API over WebSocket (a client
 * `response.create` message answered by the same events the SSE stream
 * carries) becomes one exchange per turn, shaped like the HTTP POST + SSE
 * equivalent so the existing Responses decoder reads it unchanged.
 * Other messages are counted, not interpreted.
 */
export class WebSocketSession {
  private readonly parsers: [WebSocketParser, WebSocketParser];
  private turn: { req: HttpMessage; events: SseEvent[]; bytes: number } | undefined;

  /** The upgrade request's identity, copied: the delivered upgrade exchange is wiped after its events are built. */
  private readonly upgrade: Pick<HttpMessage, 'path' | 'authority' | 'headers'>;

  constructor(
    clientDir: Direction,
    upgrade: HttpMessage,
    upgradeResponse: HttpMessage,
    opts: ProtocolOptions,
    private readonly stats: StageStats,
    private readonly deliver: (req: HttpMessage | undefined, res: HttpMessage | undefined, incomplete: boolean) => void,
  ) {
    this.upgrade = {
      headers: upgrade.headers.map(([k, v]) => [k, v] as [string, string]),
      ...(upgrade.path !== undefined ? { path: upgrade.path } : {}),
      ...(upgrade.authority !== undefined ? { authority: upgrade.authority } : {}),
    };
    const d = negotiatedDeflate(header(upgradeResponse.headers, 'sec-websocket-extensions'));
    const make = (fromClient: boolean) =>
      new WebSocketParser(
        { fromClient, deflate: d.deflate, noContextTakeover: fromClient ? d.clientNoContextTakeover : d.serverNoContextTakeover, maxMessageBytes: opts.maxBodyBytes },
        stats,
        (m) => this.onMessage(fromClient, m),
      );
    const client = make(true);
    const server = make(false);
    this.parsers = clientDir === 0 ? [client, server] : [server, client];
    stats.count('websocket_sessions');
  }

  feed(dir: Direction, buf: Buffer, ts: bigint): void {
    this.now = ts;
    if (this.lost[dir]) return this.stats.drop('protocol', 'ws_after_gap', buf.length);
    this.parsers[dir].push(buf);
  }

  /** Bytes lost by the capture: frame boundaries are gone, the direction is dropped from here on. */
  gap(dir: Direction, bytes: number): void {
    this.stats.error('protocol', 'ws_gap');
    this.stats.drop('protocol', 'ws_after_gap', bytes);
    this.lost[dir] = true;
  }

  end(ts: bigint): void {
    this.now = ts;
    for (const p of this.parsers) p.end();
    this.finishTurn(true);
  }

  private now = 0n;
  private readonly lost: [boolean, boolean] = [false, false];

  private onMessage(fromClient: boolean, m: WsMessage): void {
    this.stats.count(`websocket_${m.kind}`);
    if (m.kind !== 'text') return;
    const v = tryJson(m.data);
    const o = v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
    const type = typeof o?.type === 'string' ? o.type : undefined;
    if (fromClient) {
      if (type !== 'response.create' || !o) return this.stats.count('websocket_other_client_message');
      this.finishTurn(true);
      // Some clients nest the request under `response`, others put it at the top level.
      const { type: _t, response, ...top } = o;
      const body = response !== null && typeof response === 'object' ? { ...(response as object), stream: true } : { ...top, stream: true };
      const raw = Buffer.from(JSON.stringify(body));
      this.turn = {
        req: {
          method: 'POST',
          path: this.upgrade.path ?? '/',
          ...(this.upgrade.authority !== undefined ? { authority: this.upgrade.authority } : {}),
          headers: this.upgrade.headers.map(([k, v]) => [k, v] as [string, string]), // each turn is wiped on its own
          body: raw,
          wireBytes: m.data.length,
          decodedBytes: raw.length,
          truncated: m.truncated,
          startNs: this.now,
          endNs: this.now,
        },
        events: [],
        bytes: 0,
      };
      return;
    }
    if (!this.turn || type === undefined) return this.stats.count('websocket_other_server_message');
    const data = m.data.toString('utf8');
    this.turn.events.push({ event: type, data });
    this.turn.bytes += m.data.length;
    if (TERMINAL.has(type)) this.finishTurn(false);
  }

  private finishTurn(incomplete: boolean): void {
    const t = this.turn;
    if (!t) return;
    this.turn = undefined;
    const res: HttpMessage = {
      status: 200,
      headers: [['content-type', 'text/event-stream']],
      body: Buffer.alloc(0),
      wireBytes: t.bytes,
      decodedBytes: t.bytes,
      truncated: false,
      sse: t.events,
      startNs: t.req.startNs,
      endNs: this.now,
    };
    this.deliver(t.req, t.events.length > 0 ? res : undefined, incomplete);
  }
}
