import type { DataAccessFields } from '../contracts/agent-fields.js';
import { isoMicros } from '../contracts/envelope.js';
import { Counter, registry } from '../observability/metrics.js';

/**
 * Fewer events for the same truth: repeated successful file reads and writes
 * of one resource by one process, attributed to the same tool window (or to
 * none), within `windowMs` of the first, leave as ONE data.access whose byte
 * counts are the exact sums and whose `aggregate` says how many accesses it
 * stands for and when the last one was. The event keeps the first access's
 * id and time. Never merged: failures, other access modes, other tool
 * windows, and anything across a policy decision of the session (`cut`).
 * Off when `windowMs` is 0.
 */
export interface AggregateInfo {
  count: number;
  /** Time of the last access merged into this event (the event's own time is the first's). */
  last_time: string;
  window_ms: number;
}

interface Open {
  sessionId: string;
  fields: DataAccessFields & { aggregate?: AggregateInfo };
  emit: () => void;
  count: number;
  lastNs: bigint;
  closeAtMs: number;
}

const merged = new Counter({
  name: 'agentrail_data_access_aggregated_total',
  help: 'File accesses merged into an earlier data.access of the same resource, process and tool window (classify.aggregateWindowMs)',
  registers: [registry],
});

const MERGEABLE = new Set<DataAccessFields['access_mode']>(['read', 'write', 'read_write']);
const MAX_OPEN = 65_536;

export class AccessAggregator {
  private readonly open = new Map<string, Open>();

  constructor(
    private readonly windowMs: number,
    private readonly toWall: (kNs: bigint) => bigint,
    private readonly run: (f: () => void) => void,
  ) {}

  /**
   * A built file access about to leave. Returns true when it was taken (merged, or held as the
   * first of a possible aggregate: `emit` runs later); false when it must leave now.
   */
  offer(o: { sessionId: string; pid: number; windowId: string | null; status: string; tNs: bigint; nowMs: number; fields: DataAccessFields; emit: () => void }): boolean {
    const f = o.fields;
    if (this.windowMs <= 0 || o.status !== 'SUCCESS' || f.resource_type !== 'file' || !MERGEABLE.has(f.access_mode)) return false;
    const key = `${o.sessionId}|${o.pid}|${o.windowId ?? ''}|${f.access_mode}|${f.resource_uri}`;
    const cur = this.open.get(key);
    if (cur && o.nowMs < cur.closeAtMs) {
      cur.count++;
      cur.fields.bytes_read += f.bytes_read;
      cur.fields.bytes_written += f.bytes_written;
      cur.fields.byte_count += f.byte_count;
      const tags = cur.fields.sensitivity_tags_resolved;
      // Tags are resolved at each access (rules reload live): the aggregate carries their union.
      if (f.sensitivity_tags_resolved.some((t) => !tags.includes(t))) cur.fields.sensitivity_tags_resolved = [...new Set([...tags, ...f.sensitivity_tags_resolved])].sort();
      if (o.tNs > cur.lastNs) cur.lastNs = o.tNs;
      merged.inc();
      return true;
    }
    if (cur) this.release(key, cur);
    if (this.open.size >= MAX_OPEN) this.release(...(this.open.entries().next().value as [string, Open]));
    this.open.set(key, { sessionId: o.sessionId, fields: f, emit: o.emit, count: 1, lastNs: o.tNs, closeAtMs: o.nowMs + this.windowMs });
    return true;
  }

  /** Release aggregates whose window has passed. */
  releaseDue(nowMs: number): void {
    for (const [k, a] of this.open) if (nowMs >= a.closeAtMs) this.release(k, a);
  }

  /** A policy decision in the session: what came before it never merges with what comes after. */
  cut(sessionId: string): void {
    for (const [k, a] of this.open) if (a.sessionId === sessionId) this.release(k, a);
  }

  releaseAll(): void {
    for (const [k, a] of [...this.open]) this.release(k, a);
  }

  private release(key: string, a: Open): void {
    this.open.delete(key);
    if (a.count > 1) a.fields.aggregate = { count: a.count, last_time: isoMicros(this.toWall(a.lastNs)), window_ms: this.windowMs };
    this.run(a.emit);
  }
}
