import { EventTypes, type CloudEvent } from '../contracts/envelope.js';
import { policySchema, type PolicyConfig } from '../config/policy.js';
import { childLogger } from '../observability/logger.js';
import { countStageError } from '../observability/metrics.js';
import { buildPolicyDecisionEvent, type DecisionInput } from './decision.js';
import { PolicyEngine, type Firing } from './engine.js';
import type { KernelEnforcer } from './enforcer.js';
import { enforceListsOf, RuleIndex } from './kernel-lists.js';
import type { RuleSpec } from './rule-file.js';
import { policyDecisions, policyRulesLoaded } from './metrics.js';
import { providerVerdict } from './provider-verdict.js';
import { PolicyRuleStore } from './rule-store.js';

export type { KernelEnforcer } from './enforcer.js';

const log = childLogger('policy');

/** The policy stage between event and seal (DESIGN.md §1, docs/policy.md). */
export interface PolicyStage {
  /** Each built event before sealing; returns what to seal, in order: the event (possibly annotated, e.g. policy_interventions) then any policy.decision events. */
  evaluate(ev: CloudEvent): CloudEvent[];
  /** Time-driven work (sequence windows); returns decision events to seal. */
  tick(nowMs: number): CloudEvent[];
  close(): void;
  /** Kernel enforcement: applies the `kernel` lists of enforce rules now and after every good reload. */
  useKernelEnforcer(e: KernelEnforcer): void;
  /** The rule a kernel enforcement record names (its index), if still loaded. */
  kernelRule(index: number): { id: string; spec: RuleSpec | undefined } | undefined;
}

type Intervention = { policy_id: string; decision: string; event_id: string | null };

/** Model calls that requested tools, per session: the call an action's decision concerns. Bounded. */
class LastToolRequest {
  private readonly m = new Map<string, string>();
  constructor(private readonly max = 10_000) {}
  note(ev: CloudEvent): void {
    const d = ev.data as { agent_session_id?: string; tools_requested?: unknown[] };
    if (ev.type !== EventTypes.modelInvocation || !d.agent_session_id || !d.tools_requested?.length) return;
    this.m.delete(d.agent_session_id);
    this.m.set(d.agent_session_id, ev.id);
    if (this.m.size > this.max) this.m.delete(this.m.keys().next().value as string);
  }
  of(ev: CloudEvent): string | undefined {
    return this.m.get((ev.data as { agent_session_id?: string }).agent_session_id ?? '');
  }
}

function decisionOf(f: Firing, overridden: boolean, concerns: string | undefined): DecisionInput {
  const s = f.rule.spec;
  const related = concerns && !f.relatedEventIds.includes(concerns) ? [...f.relatedEventIds, concerns] : f.relatedEventIds;
  return {
    policy_id: 'agentrail.rules',
    decision: s.decision,
    rule_fired: s.id,
    // The userspace stage sees the effect after it happened: its decisions are observations.
    // Kernel enforcement (enforcer.ts) records its own `enforce` decisions.
    enforcement: 'observe',
    overridden,
    severity: s.severity,
    references: [...s.references],
    decision_source: 'agentrail',
    related_event_ids: related,
  };
}

export function createPolicyStage(opts: { config: unknown; source: string; enforcer?: KernelEnforcer }): PolicyStage {
  const cfg: PolicyConfig = policySchema.parse(opts.config ?? {});
  if (!cfg.enabled) return { evaluate: (ev) => [ev], tick: () => [], close: () => opts.enforcer?.close(), useKernelEnforcer: () => undefined, kernelRule: () => undefined };
  const store = new PolicyRuleStore(cfg.rulesFile);
  if (cfg.watchRules) store.watch();
  const engine = new PolicyEngine(store.rules, {
    lists: { model_endpoints: cfg.modelEndpoints, api_endpoints: cfg.apiEndpoints },
    maxSequenceStates: cfg.maxSequenceStates,
  });
  policyRulesLoaded.set(store.rules.length);
  const ruleIndex = new RuleIndex();
  let enforcer = opts.enforcer;
  // At start a failure is a setup error (thrown); on reload the previous lists stay in force.
  const applyKernel = (atStart = false) => {
    if (!enforcer) return;
    if (atStart) return enforcer.apply(enforceListsOf(store.rules, ruleIndex));
    try {
      enforcer.apply(enforceListsOf(store.rules, ruleIndex));
    } catch (e) {
      // The previous lists stay in the kernel; counted and one line, never a crash of the stage.
      countStageError('policy', 'enforce_apply_failed');
      log.error({ err: (e as Error).message }, 'cannot apply kernel enforcement lists; the previous lists stay in force');
    }
  };
  store.onReload((ok, rules) => {
    if (!ok) return;
    engine.setRules(rules);
    policyRulesLoaded.set(rules.length);
    applyKernel();
  });
  applyKernel(true);
  log.info({ file: store.file, rules: store.rules.length }, 'policy rules loaded');
  const lastAsk = new LastToolRequest();

  return {
    evaluate(ev: CloudEvent): CloudEvent[] {
      if (ev.type === EventTypes.policyDecision) return [ev];
      const firings = engine.evaluate(ev);
      const verdict = providerVerdict(ev);
      if (firings.length === 0 && !verdict) {
        lastAsk.note(ev);
        return [ev];
      }
      // An `allow` rule firing on the same event is an exception: the others are recorded as overridden.
      const allowed = firings.some((f) => f.rule.spec.decision === 'allow');
      const isModel = ev.type === EventTypes.modelInvocation;
      const concerns = isModel ? undefined : lastAsk.of(ev);
      const inputs = firings.map((f) => decisionOf(f, allowed && f.rule.spec.decision !== 'allow', concerns));
      if (verdict) inputs.push(verdict);
      const decisions = inputs.map((d) => buildPolicyDecisionEvent(d.decision_source?.startsWith('provider:') ? `${opts.source}/${d.decision_source}` : opts.source, ev, d));
      for (const d of inputs) policyDecisions.inc({ decision: d.decision, source: d.decision_source === 'agentrail' ? 'agentrail' : 'provider' });
      let out = ev;
      if (isModel) {
        // Not sealed yet: the model call lists the decisions about it.
        const data = ev.data as { policy_interventions?: Intervention[] };
        const iv: Intervention[] = decisions.map((d, i) => ({ policy_id: inputs[i]!.policy_id, decision: inputs[i]!.decision, event_id: d.id }));
        out = { ...ev, data: { ...ev.data, policy_interventions: [...(data.policy_interventions ?? []), ...iv] } };
      }
      lastAsk.note(out);
      return [out, ...decisions];
    },
    tick(nowMs: number): CloudEvent[] {
      engine.tick(nowMs);
      return [];
    },
    close(): void {
      store.close();
      enforcer?.close();
    },
    useKernelEnforcer(e: KernelEnforcer): void {
      enforcer = e;
      applyKernel(true);
    },
    kernelRule(index: number) {
      const id = ruleIndex.id(index);
      return id === undefined ? undefined : { id, spec: store.rules.find((r) => r.spec.id === id)?.spec };
    },
  };
}
