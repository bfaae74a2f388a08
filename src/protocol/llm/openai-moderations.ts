import type { LlmCall } from '../../contracts/exchange.js';
import { type LlmContext, arr, baseCall, httpError, obj, resJson, str } from './context.js';

/**
 * OpenAI moderation (`POST /v1/moderations`): the provider's guardrail
 * verdict on the input. The call's finish reason is `flagged` when any result
 * is flagged, `not_flagged` otherwise; the policy stage turns `flagged` into a
 * policy.decision from the provider (src/policy/provider-verdict.ts).
 */
export function matchOpenAiModerations(ctx: LlmContext): boolean {
  return /\/moderations$/.test(ctx.path) && ctx.reqJson?.input !== undefined;
}

export function decodeModerations(ctx: LlmContext): LlmCall {
  const b = ctx.reqJson!;
  const call = baseCall('openai', 'moderations', str(b.model) ?? '', false);
  const inputs = Array.isArray(b.input) ? b.input : [b.input];
  for (const i of inputs) {
    const text = typeof i === 'string' ? i : (str(obj(i)?.text) ?? '');
    if (text !== '') call.inputTexts.push({ role: 'user', text });
  }
  const r = obj(resJson(ctx));
  const e = httpError(ctx, r);
  if (e) call.error = e;
  if (r) {
    if (str(r.model)) call.model = r.model as string;
    const results = arr(r.results).map(obj);
    if (results.length > 0) call.finishReason = results.some((x) => x?.flagged === true) ? 'flagged' : 'not_flagged';
  }
  return call;
}
