import { buildAgentEvent, type CommonFields } from '../event/agent-event.js';
import { EventTypes, nowNs, type CloudEvent } from '../event/envelope.js';

/**
 * The policy decision event (seed: policy_id, decision, evaluated_event_id,
 * rule_fired). The engine that emits it comes later; the type and its schema
 * (schemas/policy.decision.json) are fixed now so consumers can rely on them.
 */
export type PolicyDecision = 'allow' | 'deny' | 'flag';

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
}

/** A policy decision about an already built event: same trace, session and workload. */
export function buildPolicyDecisionEvent(source: string, evaluated: CloudEvent, d: Omit<PolicyDecisionFields, 'evaluated_event_id'>, timeNs: bigint = nowNs()): CloudEvent {
  const e = evaluated.data as unknown as CommonFields;
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
    { ...d, evaluated_event_id: evaluated.id } satisfies PolicyDecisionFields,
  ) as unknown as CloudEvent;
}
