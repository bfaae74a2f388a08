import { countDrop } from '../observability/metrics.js';

/** One partial match of a sequence rule in one session or trace. */
export interface Partial {
  /** Steps matched so far (1 = the first step). */
  step: number;
  startMs: number;
  eventIds: string[];
}

/**
 * Open sequence matches, keyed by rule and session/trace. Bounded: beyond
 * `max` the least recently touched match is evicted and counted
 * (agentrail_dropped_total{stage="policy",reason="sequence_state_evicted"}),
 * so a flood of sessions cannot grow memory without limit.
 */
export class SequenceState {
  private readonly m = new Map<string, Partial>();
  evicted = 0;
  constructor(private readonly max: number) {}

  get(key: string): Partial | undefined {
    return this.m.get(key);
  }

  set(key: string, p: Partial): void {
    this.m.delete(key); // re-insert: Map order is recency order
    this.m.set(key, p);
    while (this.m.size > this.max) {
      const oldest = this.m.keys().next().value as string;
      this.m.delete(oldest);
      this.evicted++;
      countDrop('policy', 'sequence_state_evicted');
    }
  }

  delete(key: string): void {
    this.m.delete(key);
  }

  /** Drop matches whose window has passed (expiry, not loss: not counted). */
  expire(nowMs: number, windowOf: (key: string) => number): void {
    for (const [k, p] of this.m) if (nowMs - p.startMs > windowOf(k)) this.m.delete(k);
  }

  get size(): number {
    return this.m.size;
  }
}
