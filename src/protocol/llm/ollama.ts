import type { LlmCall } from '../../contracts/exchange.js';
import { tryJson } from '../jsonrpc.js';
import { type LlmContext, arr, baseCall, httpError, num, obj, str } from './context.js';

/** Ollama native API: `/api/chat` (and `/api/generate`), NDJSON streaming by default. */
export function matchOllama(ctx: LlmContext): 'api.chat' | 'api.generate' | undefined {
  const b = ctx.reqJson;
  if (!b || typeof b.model !== 'string') return undefined;
  if (/\/api\/chat$/.test(ctx.path) && Array.isArray(b.messages)) return 'api.chat';
  if (/\/api\/generate$/.test(ctx.path)) return 'api.generate';
  return undefined;
}

export function decodeOllama(ctx: LlmContext, op: 'api.chat' | 'api.generate'): LlmCall {
  const b = ctx.reqJson!;
  const call = baseCall('ollama', op, String(b.model), b.stream !== false);
  if (typeof b.system === 'string') call.inputTexts.push({ role: 'system', text: b.system });
  if (typeof b.prompt === 'string') call.inputTexts.push({ role: 'user', text: b.prompt });
  for (const m of arr(b.messages)) {
    const o = obj(m);
    if (!o) continue;
    const role = str(o.role) ?? '';
    if (typeof o.content === 'string' && o.content !== '') call.inputTexts.push({ role, text: o.content });
    if (role === 'tool' && typeof o.content === 'string') call.toolResults.push({ text: o.content, ...(str(o.tool_name) ? { name: o.tool_name as string } : {}) });
  }
  for (const t of arr(b.tools)) {
    const n = str(obj(obj(t)?.function)?.name);
    if (n !== undefined) call.toolsOffered.push(n);
  }
  const lines = (ctx.res?.body.toString('utf8') ?? '').split('\n').filter((l) => l.trim() !== '');
  const texts: string[] = [];
  for (const l of lines) {
    const o = obj(tryJson(l));
    if (!o) continue;
    if (o.error !== undefined) call.error = { status: ctx.res?.status ?? 0, ...(str(o.error) ? { type: 'error' } : {}) };
    if (str(o.model)) call.model = o.model as string;
    const msg = obj(o.message);
    if (typeof msg?.content === 'string') texts.push(msg.content);
    if (typeof o.response === 'string') texts.push(o.response);
    for (const tc of arr(msg?.tool_calls)) {
      const f = obj(obj(tc)?.function);
      if (f) call.toolsRequested.push({ name: str(f.name) ?? '', arguments: f.arguments, ...(str(obj(tc)?.id) ? { callId: obj(tc)!.id as string } : {}) });
    }
    if (o.done === true) {
      if (str(o.done_reason)) call.finishReason = o.done_reason as string;
      const i = num(o.prompt_eval_count);
      const out = num(o.eval_count);
      if (i !== undefined || out !== undefined) call.usage = { ...(i !== undefined ? { inputTokens: i } : {}), ...(out !== undefined ? { outputTokens: out } : {}) };
    }
  }
  call.outputText = texts.join('');
  if (!call.error) {
    const e = httpError(ctx, undefined);
    if (e) call.error = e;
  }
  return call;
}
