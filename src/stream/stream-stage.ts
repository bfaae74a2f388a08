import type { StreamRef } from '../contracts/exchange.js';
import type { ProtocolOptions } from '../contracts/protocol-options.js';
import type { RawEvent } from '../contracts/raw-event.js';
import type { StageStats } from '../observability/stage-stats.js';
import { StreamTable, type StreamConsumer } from './stream-table.js';

/** fd.io `reason` value for a close (AR_FLUSH_CLOSE) and `fdKind` for a socket (AR_FD_SOCKET). */
const AR_FLUSH_CLOSE = 1;
const AR_FD_SOCKET = 2;
const EXPIRE_EVERY = 4096;

/**
 * The stream stage: plaintext records (TLS reads/writes, pipe data) become
 * ordered byte streams, one per TLS session or pipe, each handed to the
 * consumer the protocol stage gives for it. Streams end on socket close,
 * process exit, idle timeout or flush. Records that carry no stream bytes
 * are ignored here.
 */
export class StreamStage {
  private readonly table: StreamTable;
  private lastNs = 0n;
  /** lastNs as of the previous tick, and the wall clock when a tick first saw it: a quiet source still lets time pass. */
  private tickedNs = -1n;
  private tickedWallMs = Date.now();
  private sinceExpire = 0;

  constructor(
    opts: ProtocolOptions,
    private readonly stats: StageStats,
    consumerFor: (ref: StreamRef) => StreamConsumer,
  ) {
    this.table = new StreamTable(opts, stats, consumerFor);
  }

  push(ev: RawEvent): void {
    if (ev.ktimeNs > this.lastNs) this.lastNs = ev.ktimeNs;
    try {
      switch (ev.kind) {
        case 'tls.data':
        case 'pipe.data':
          this.stats.count('plaintext_bytes', ev.data.length);
          this.table.push(ev);
          break;
        case 'tls.pair':
          this.table.pair(ev);
          break;
        case 'fd.io':
          if (ev.fdKind === AR_FD_SOCKET && ev.ino !== 0n) this.table.markSocket(ev.ino);
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
      this.stats.error('protocol', 'internal');
    }
    if (++this.sinceExpire >= EXPIRE_EVERY) {
      this.sinceExpire = 0;
      this.table.expire(this.lastNs);
    }
  }

  /**
   * Close streams idle for longer than the idle timeout (and pipes past their linger), as of `nowNs`
   * (kernel clock); by default the last record's time plus the wall time since a tick first saw it
   * (ticks come every 250 ms: no clock read per record).
   */
  tick(nowNs?: bigint): void {
    if (nowNs === undefined) {
      const wall = Date.now();
      if (this.lastNs !== this.tickedNs) {
        this.tickedNs = this.lastNs;
        this.tickedWallMs = wall;
      }
      nowNs = this.lastNs + BigInt(Math.max(0, wall - this.tickedWallMs)) * 1_000_000n;
    }
    this.table.expire(nowNs);
  }

  /** End every open stream: pending exchanges are emitted (incomplete where unanswered). */
  flush(): void {
    this.table.closeAll(this.lastNs);
  }

  get openStreams(): number {
    return this.table.size;
  }

  get bufferedBytes(): number {
    return this.table.totalBuffered();
  }
}
