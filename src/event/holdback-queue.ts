import { countStageError } from '../observability/metrics.js';

/**
 * Events that wait before they leave, so their links can be resolved: data
 * accesses wait the hold-back (an MCP tools/call is only known when its
 * response completes, after the file it read was closed); errors wait the
 * retry window. One FIFO per delay, each ordered by release time, so a tick
 * pops from the fronts. Bounded: when full, the oldest is released early
 * (its attribution window cut short, counted), never dropped.
 */
const MAX_HELD = 200_000;

interface Held {
  releaseAt: number;
  release: () => void;
}

export class HoldbackQueue {
  private readonly held = new Map<number, Held[]>();
  private count = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly nowMs: () => number,
    /** Timer period: half the shortest delay in use. */
    private readonly periodMs: number,
    /** Runs a release; a throwing release must not stop the others. */
    private readonly run: (release: () => void) => void,
    private readonly onTick: () => void,
  ) {}

  hold(ms: number, release: () => void): void {
    let q = this.held.get(ms);
    if (!q) this.held.set(ms, (q = []));
    if (++this.count > MAX_HELD) {
      const oldest = [...this.held.values()].find((x) => x.length > 0)?.shift();
      this.count--;
      countStageError('event', 'holdback_queue_full');
      if (oldest) this.run(oldest.release);
    }
    q.push({ releaseAt: this.nowMs() + ms, release });
    if (!this.timer) {
      this.timer = setInterval(() => this.onTick(), Math.max(50, this.periodMs));
      this.timer.unref();
    }
  }

  /** Release what is due; true when anything was. Shorter delays (data accesses) first: errors may point at them. */
  releaseDue(): boolean {
    const now = this.nowMs();
    let any = false;
    for (const ms of [...this.held.keys()].sort((a, b) => a - b)) {
      const q = this.held.get(ms)!;
      let n = 0;
      while (n < q.length && q[n]!.releaseAt <= now) n++;
      if (!n) continue;
      any = true;
      this.count -= n;
      for (const h of q.splice(0, n)) this.run(h.release);
    }
    return any;
  }

  /** Release everything, including what releases hold anew. */
  releaseAll(): void {
    for (;;) {
      const qs = [...this.held.entries()].sort((a, b) => a[0] - b[0]).filter(([, q]) => q.length);
      if (!qs.length) return;
      for (const [, q] of qs) {
        this.count -= q.length;
        for (const h of q.splice(0)) this.run(h.release);
      }
    }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
