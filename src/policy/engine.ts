import type { CloudEvent } from '../contracts/envelope.js';
import { TYPE_PREFIX } from '../contracts/envelope.js';
import { childLogger } from '../observability/logger.js';
import { countStageError } from '../observability/metrics.js';
import type { CompiledRule, CompiledStep } from './rule-file.js';
import { SequenceState } from './sequence-state.js';
import { ToolShapes } from './tool-shapes.js';

const log = childLogger('policy');

/** A rule that fired on an event. */
export interface Firing {
  rule: CompiledRule;
  /** Earlier events of a sequence match, oldest first. */
  relatedEventIds: string[];
}

export interface EngineOptions {
  lists: Record<string, readonly string[]>;
  maxSequenceStates: number;
}

interface Indexed {
  /** Per short event type: the single-event rules and the sequence rules having a step on it. */
  single: Map<string, CompiledRule[]>;
  sequence: Map<string, CompiledRule[]>;
}

function index(rules: readonly CompiledRule[]): Indexed {
  const single = new Map<string, CompiledRule[]>();
  const sequence = new Map<string, CompiledRule[]>();
  const add = (m: Map<string, CompiledRule[]>, t: string, r: CompiledRule) => {
    const l = m.get(t) ?? [];
    if (!l.includes(r)) l.push(r);
    m.set(t, l);
  };
  for (const r of rules) for (const s of r.steps) for (const t of s.types) add(r.sequence ? sequence : single, t, r);
  return { single, sequence };
}

function readsShapes(rules: readonly CompiledRule[]): boolean {
  const texts = rules.flatMap((r) => (r.sequence ? r.spec.sequence!.steps.map((s) => s.condition) : [r.spec.condition ?? '']));
  return texts.some((t) => t.includes('novel_shapes'));
}

/**
 * Evaluates compiled rules against events. Rules are indexed by event type,
 * so an event only runs the conditions that can apply to it. A condition that
 * throws is a counted non-match (agentrail_stage_errors_total{stage="policy",
 * reason="cel_runtime"}), logged once per rule: the event is still sealed.
 */
export class PolicyEngine {
  private idx: Indexed;
  private rules: readonly CompiledRule[];
  private readonly seq: SequenceState;
  private readonly shapes = new ToolShapes(10_000);
  private readonly loggedErrors = new Set<string>();
  private usesShapes: boolean;
  private lastEventMs = 0;
  runtimeErrors = 0;

  constructor(
    rules: readonly CompiledRule[],
    private readonly o: EngineOptions,
  ) {
    this.rules = rules;
    this.idx = index(rules);
    this.usesShapes = readsShapes(rules);
    this.seq = new SequenceState(o.maxSequenceStates);
  }

  /** Swap in reloaded rules; open sequence matches of removed rules lapse by time. */
  setRules(rules: readonly CompiledRule[]): void {
    this.rules = rules;
    this.idx = index(rules);
    this.usesShapes = readsShapes(rules);
  }

  get ruleCount(): number {
    return this.rules.length;
  }

  get sequenceStates(): number {
    return this.seq.size;
  }

  private test(rule: CompiledRule, step: CompiledStep, ctx: Record<string, unknown>): boolean {
    try {
      return step.condition(ctx) === true;
    } catch (e) {
      this.runtimeErrors++;
      countStageError('policy', 'cel_runtime');
      if (!this.loggedErrors.has(rule.spec.id)) {
        this.loggedErrors.add(rule.spec.id);
        log.warn({ rule: rule.spec.id, err: (e as Error).message.split('\n')[0] }, 'policy condition failed at runtime: counted as no match, event sealed');
      }
      return false;
    }
  }

  evaluate(ev: CloudEvent): Firing[] {
    const type = ev.type.startsWith(TYPE_PREFIX) ? ev.type.slice(TYPE_PREFIX.length) : ev.type;
    const single = this.idx.single.get(type);
    const seqs = this.idx.sequence.get(type);
    if (!single && !seqs) return [];
    // Shapes are learned only while some rule reads them (JSON of every requested schema is not free).
    const novel = this.usesShapes && type === 'model.invocation' ? this.shapes.observe(ev) : [];
    const ctx = { event_type: type, id: ev.id, source: ev.source, data: ev.data, lists: this.o.lists, novel_shapes: novel };
    const out: Firing[] = [];
    for (const r of single ?? []) if (this.test(r, r.steps[0]!, ctx)) out.push({ rule: r, relatedEventIds: [] });
    if (seqs) {
      // Millisecond precision: Date.parse takes its fast path only for the 3-digit ISO form.
      const nowMs = Date.parse(ev.time.length > 24 ? `${ev.time.slice(0, 23)}Z` : ev.time);
      if (nowMs > this.lastEventMs) this.lastEventMs = nowMs;
      for (const r of seqs) {
        const f = this.advance(r, type, ev, ctx, nowMs);
        if (f) out.push(f);
      }
    }
    return out;
  }

  private advance(r: CompiledRule, type: string, ev: CloudEvent, ctx: Record<string, unknown>, nowMs: number): Firing | undefined {
    const d = ev.data as { agent_session_id?: string; trace_id?: string };
    const scopeId = r.sequence!.scope === 'trace' ? d.trace_id : d.agent_session_id;
    if (!scopeId) return undefined;
    const key = `${r.spec.id}\u0000${scopeId}`;
    let p = this.seq.get(key);
    if (p && nowMs - p.startMs > r.sequence!.withinMs) {
      this.seq.delete(key);
      p = undefined;
    }
    const last = r.steps.length;
    // The next step first: an event completing the sequence fires even if it could also start one.
    if (p) {
      const next = r.steps[p.step]!;
      if (next.types.has(type) && this.test(r, next, ctx)) {
        if (p.step + 1 === last) {
          // Completed: fire, and keep the prefix so later matching events within the window fire too.
          this.seq.set(key, p);
          return { rule: r, relatedEventIds: [...p.eventIds] };
        }
        this.seq.set(key, { step: p.step + 1, startMs: p.startMs, eventIds: [...p.eventIds, ev.id] });
        return undefined;
      }
    }
    const first = r.steps[0]!;
    if ((!p || p.step === 1) && first.types.has(type) && this.test(r, first, ctx)) this.seq.set(key, { step: 1, startMs: nowMs, eventIds: [ev.id] });
    return undefined;
  }

  /**
   * Let sequence matches whose window passed lapse. Windows run on event time:
   * a replay's events are older than the wall clock, so the clock is the
   * earlier of `nowMs` and the latest event time seen.
   */
  tick(nowMs: number): void {
    const clock = Math.min(nowMs, this.lastEventMs);
    const windows = new Map(this.rules.filter((r) => r.sequence).map((r) => [r.spec.id, r.sequence!.withinMs]));
    this.seq.expire(clock, (k) => windows.get(k.slice(0, k.indexOf('\u0000'))) ?? 0);
  }
}
