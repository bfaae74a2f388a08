import type { CloudEvent } from '../event/envelope.js';
import { EventTypes } from '../event/envelope.js';
import type { DecisionInput } from './decision.js';

/**
 * Provider guardrail verdicts visible in a model call's answer, as the finish
 * reason the protocol stage records: Anthropic `stop_reason: refusal`, OpenAI
 * `finish_reason: content_filter`, Bedrock Converse `stopReason:
 * guardrail_intervened`. The provider decided, so the provider is the source.
 */
const VERDICTS: Record<string, { rule: string; decision: 'deny' | 'flag' }> = {
  refusal: { rule: 'refusal', decision: 'deny' },
  content_filter: { rule: 'content_filter', decision: 'deny' },
  guardrail_intervened: { rule: 'guardrail_intervened', decision: 'deny' },
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
    // The provider enforced it: the answer the agent got was the refusal.
    enforcement: 'enforce',
    overridden: false,
    severity: 'medium',
    references: [],
    decision_source: `provider:${provider}`,
  };
}
