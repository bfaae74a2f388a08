import { countDrop, countStageError } from './metrics.js';

/**
 * Counted drops and errors of the stream/protocol stages. Reasons are a fixed
 * vocabulary (never captured content), mirrored into the Prometheus counters.
 */
export class StageStats {
  readonly drops: Record<string, number> = {};
  readonly errors: Record<string, number> = {};
  readonly counts: Record<string, number> = {};

  drop(stage: 'stream' | 'protocol', reason: string, n = 1): void {
    const k = `${stage}.${reason}`;
    this.drops[k] = (this.drops[k] ?? 0) + n;
    countDrop(stage, reason, n);
  }

  error(stage: 'stream' | 'protocol', reason: string, n = 1): void {
    const k = `${stage}.${reason}`;
    this.errors[k] = (this.errors[k] ?? 0) + n;
    countStageError(stage, reason, n);
  }

  count(what: string, n = 1): void {
    this.counts[what] = (this.counts[what] ?? 0) + n;
  }

  snapshot(): { drops: Record<string, number>; errors: Record<string, number>; counts: Record<string, number> } {
    return { drops: { ...this.drops }, errors: { ...this.errors }, counts: { ...this.counts } };
  }
}
