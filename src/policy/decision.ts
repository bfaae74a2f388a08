import { buildAgentEvent } from '../event/agent-event.js';
import type { CommonFields } from '../contracts/agent-fields.js';
import { EventTypes, nowNs, type CloudEvent } from '../contracts/envelope.js';

/**
 * The policy decision event (seed: policy_id, decision, evaluated_event_id,
 * rule_fired; schemas/policy.decision.json). Emitted by the policy stage for
 * each rule firing, each kernel enforcement and each provider guardrail verdict.
 */
export type PolicyDecision = 'allow' | 'deny' | 'flag';
export type Severity = 'low' | 'medium' | 'high' | 'critical';

export interface PolicyDecisionFields {
  policy_id: string;
  decision: PolicyDecision;
  /** The event the policy evaluated. */
  evaluated_event_id: string;
  /** The rule inside the policy that decided, null when the default applied. */
  rule_fired: string | null;
  /** Whether the sensor could enforce it (`observe` = recorded only). */
  enforcement: 'observe' | 'enforce';
  /** A decision that fired and was overridden is the bug-or-attack signal. */
  overridden: boolean;
  severity: Severity;
  /** MITRE ATLAS technique ids, OWASP LLM / agentic ids. */
  references: string[];
  /** Who decided: `agentrail` (the sensor's rules) or `provider:<name>` (a provider guardrail seen in the traffic). */
  decision_source: string;
  /** Earlier events the decision concerns: a sequence's prior steps, the model call that asked for the action. */
  related_event_ids: string[];
}

export type DecisionInput = Omit<PolicyDecisionFields, 'evaluated_event_id' | 'severity' | 'references' | 'decision_source' | 'related_event_ids'> &
  Partial<Pick<PolicyDecisionFields, 'severity' | 'references' | 'decision_source' | 'related_event_ids'>>;

/** A policy decision about an already built event: same trace, session and workload. */
export function buildPolicyDecisionEvent(source: string, evaluated: CloudEvent, d: DecisionInput, timeNs: bigint = nowNs()): CloudEvent {
  const e = evaluated.data as unknown as CommonFields;
  const fields: PolicyDecisionFields = {
    severity: 'medium',
    references: [],
    decision_source: 'agentrail',
    related_event_ids: [],
    ...d,
    evaluated_event_id: evaluated.id,
  };
  return buildAgentEvent(
    {
      type: EventTypes.policyDecision,
      source,
      timeNs,
      common: {
        trace_id: e.trace_id,
        workload_id: e.workload_id,
        agent_session_id: e.agent_session_id,
        agent: e.agent,
        cause: { type: 'policy', session_id: e.cause.session_id, event_id: evaluated.id },
        reasoning: null,
        outcome: { status: d.decision === 'deny' ? 'FAILURE' : 'SUCCESS', duration_ms: null },
        process: e.process ?? null,
      },
    },
    fields,
  ) as unknown as CloudEvent;
}
