import type { CloudEvent } from '../contracts/envelope.js';
import { EventTypes } from '../contracts/envelope.js';
import type { DecisionInput } from './decision.js';

/**
 * Provider guardrail verdicts visible in a model call's answer, as the finish
 * reason the protocol stage records: Anthropic `stop_reason: refusal`, OpenAI
 * `finish_reason: content_filter`, Bedrock Converse `stopReason:
 * guardrail_intervened`, OpenAI moderation `flagged`. The provider decided, so
 * the provider is the source.
 */
const VERDICTS: Record<string, { rule: string; decision: 'deny' | 'flag'; enforcement: 'observe' | 'enforce' }> = {
  refusal: { rule: 'refusal', decision: 'deny', enforcement: 'enforce' },
  content_filter: { rule: 'content_filter', decision: 'deny', enforcement: 'enforce' },
  guardrail_intervened: { rule: 'guardrail_intervened', decision: 'deny', enforcement: 'enforce' },
  // A moderation result only informs the agent: what it did next is in the trail.
  flagged: { rule: 'moderation_flagged', decision: 'flag', enforcement: 'observe' },
};

export function providerVerdict(ev: CloudEvent): DecisionInput | undefined {
  if (ev.type !== EventTypes.modelInvocation) return undefined;
  const d = ev.data as { provider?: string; finish_reason?: string | null };
  const v = d.finish_reason ? VERDICTS[d.finish_reason] : undefined;
  if (!v) return undefined;
  const provider = d.provider ?? 'unknown';
  return {
    policy_id: `provider:${provider}`,
    decision: v.decision,
    rule_fired: v.rule,
    // A refusal is enforced by the provider (the agent got the refusal); a moderation flag is advice.
    enforcement: v.enforcement,
    overridden: false,
    severity: 'medium',
    references: [],
    decision_source: `provider:${provider}`,
  };
}
