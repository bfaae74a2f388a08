import type { HttpMessage, LlmCall } from '../../contracts/exchange.js';
import { decodeAnthropic, matchAnthropic } from './anthropic.js';
import { decodeBedrock, matchBedrock } from './bedrock.js';
import { type LlmContext, makeContext } from './context.js';
import { decodeGemini, matchGemini } from './gemini.js';
import { decodeOllama, matchOllama } from './ollama.js';
import { decodeChat, decodeResponses, matchOpenAi } from './openai.js';
import { markIncomplete, skeletonRequest } from './partial.js';
import { decodeModerations, matchOpenAiModerations } from './openai-moderations.js';

/**
 * Recognise an LLM API call by path and request body shape (host names are
 * not trusted alone, so gateways and proxies work) and decode it. Returns
 * undefined for anything else. `errors` counts malformed provider framing.
 */
export function decodeLlm(req: HttpMessage, res: HttpMessage | undefined, counters: { errors: number } = { errors: 0 }): LlmCall | undefined {
  if (req.method !== 'POST' || req.body.length === 0) return undefined;
  const ctx = makeContext(req, res);
  if (!ctx.reqJson) {
    // A request cut by a capture cap: still a model call, marked incomplete.
    const skeleton = skeletonRequest(req, ctx.path);
    if (!skeleton) return undefined;
    const call = decodeWith({ ...ctx, reqJson: skeleton }, counters);
    return call && markIncomplete(call, req, res);
  }
  const call = decodeWith(ctx, counters);
  if (call && req.truncated) return markIncomplete(call, req, res);
  return call;
}

function decodeWith(ctx: LlmContext, counters: { errors: number }): LlmCall | undefined {
  const b = matchBedrock(ctx);
  if (b) return decodeBedrock(ctx, b, counters);
  const a = matchAnthropic(ctx);
  if (a) return decodeAnthropic(ctx);
  const o = matchOpenAi(ctx);
  if (o === 'chat.completions') return decodeChat(ctx);
  if (o === 'responses') return decodeResponses(ctx);
  if (matchOpenAiModerations(ctx)) return decodeModerations(ctx);
  const g = matchGemini(ctx);
  if (g) return decodeGemini(ctx, g);
  const ol = matchOllama(ctx);
  if (ol) return decodeOllama(ctx, ol);
  return undefined;
}
