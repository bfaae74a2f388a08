import type { CloudEvent } from '../contracts/envelope.js';
import type { Exchange } from '../contracts/exchange.js';
import type { RawEvent } from '../contracts/raw-event.js';
import type { ProcessTable } from '../correlate/process-table.js';
import { countStageError } from '../observability/metrics.js';
import { wipeAll } from '../redact/wipe.js';
import { BuildContext, type EventBuilderOptions, type InternalError } from './build-context.js';
import { notePipeFdKind, pipeAccess } from './pipe-access.js';
import { httpAccess } from './http-access.js';
import { requestContext } from './identity-assertion.js';
import { KernelActions } from './kernel-actions.js';
import { mcpExchange } from './mcp-exchange.js';
import { modelInvocation } from './model-invocation.js';
import { settleUnknown } from './tool-invocation.js';

export type { EventBuilderOptions, InternalError } from './build-context.js';

/**
 * The event stage's entry point. The pipeline feeds it raw kernel events
 * (`onRaw`: the correlate trackers, then data.access/error events) and
 * decoded exchanges (`onExchange`: model invocations, tool invocations, data
 * accesses, identity assertions); it emits agent-action CloudEvents
 * (`onEvent`). Exchanges are wiped (buffers zero-filled, plaintext references
 * dropped) once their events are built.
 *
 * Data accesses wait `holdbackMs` and errors `retryWindowMs` before they
 * leave, so their links can be resolved (holdback-queue.ts). `flush()`
 * releases everything (at shutdown, and in tests).
 */
export class EventBuilder {
  private readonly ctx: BuildContext;
  private readonly kernel: KernelActions;

  constructor(opts: EventBuilderOptions) {
    this.ctx = new BuildContext(opts, (w) => settleUnknown(this.ctx, w), () => this.tick());
    this.kernel = new KernelActions(this.ctx);
  }

  get procs(): ProcessTable {
    return this.ctx.procs;
  }

  onEvent(cb: (ce: CloudEvent) => void): void {
    this.ctx.eventCbs.push(cb);
  }

  /** Counted bad input (`{stage, reason}`); where it concerns the agent an `error` event is emitted too. */
  onInternal(cb: (e: InternalError) => void): void {
    this.ctx.internalCbs.push(cb);
  }

  onRaw(ev: RawEvent): void {
    const k = this.kernel;
    try {
      if (ev.ktimeNs > this.ctx.lastKtime) this.ctx.lastKtime = ev.ktimeNs;
      switch (ev.kind) {
        case 'proc.exec':
          return k.onExec(ev);
        case 'proc.fork':
          if (!ev.isThread) this.ctx.procs.fork(ev.pid, ev.childPid, ev.cgroupId, ev.ktimeNs);
          return;
        case 'proc.exit':
          return k.onExit(ev);
        case 'file.open':
          return k.onOpen(ev);
        case 'fd.io':
          notePipeFdKind(this.ctx, ev); // which pipe streams are socket ends (pipe-access.ts)
          return k.onFdIo(ev);
        case 'file.op':
          return k.onFileOp(ev);
        case 'net.connect':
          return k.onConnect(ev);
        case 'net.peek':
          return this.ctx.conns.onPeek(ev);
        case 'tls.data':
          return this.ctx.conns.onTlsData(ev);
        case 'tls.pair':
          return this.ctx.conns.onTlsPair(ev);
        default:
          return; // TLS/pipe data belong to the stream stage; accept/mmap carry nothing for the log here
      }
    } catch (e) {
      this.ctx.internal('correlate', 'raw_event_failed', e);
    }
  }

  onExchange(x: Exchange): void {
    const ctx = this.ctx;
    try {
      if (x.startNs > ctx.lastKtime) ctx.lastKtime = x.startNs;
      const proc = ctx.proc(x.stream.pid, x.stream.cgroupId, x.startNs);
      if (x.request) requestContext(ctx, proc, x);
      if (x.llm) modelInvocation(ctx, proc, x, x.llm);
      else if (x.mcp) mcpExchange(ctx, proc, x, x.mcp);
      else if (x.request) httpAccess(ctx, proc, x, x.request, x.response);
      else if (x.pipe) pipeAccess(ctx, x, x.pipe);
      else ctx.internal('event', 'exchange_empty');
      if (x.incomplete) countStageError('event', 'exchange_incomplete');
    } catch (e) {
      ctx.internal('event', 'exchange_failed', e);
    } finally {
      wipeAll(x);
    }
  }

  /** Release what is due (the timer calls this; tests may too). */
  tick(): void {
    if (this.ctx.queue.releaseDue()) this.ctx.windows.expire(this.ctx.lastKtime);
    this.ctx.aggregator.releaseDue(this.ctx.nowMs());
  }

  /** A policy decision concerned this session: accesses before it never merge with accesses after it. */
  cut(sessionId: string): void {
    this.ctx.aggregator.cut(sessionId);
  }

  /** Release everything held and close every tool window (shutdown, tests). */
  flush(): void {
    this.ctx.queue.releaseAll();
    this.kernel.finishAll();
    this.ctx.queue.releaseAll();
    this.ctx.aggregator.releaseAll();
    this.ctx.windows.closeAll();
  }

  close(): void {
    this.flush();
    this.ctx.queue.stop();
  }
}
