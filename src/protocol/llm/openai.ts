import type { LlmCall } from '../../contracts/exchange.js';
import { decodeUriComponentSafe } from '../uri-decode.js';
import { type LlmContext, arr, baseCall, contentText, httpError, isEventStream, num, obj, parseArgs, resJson, sseJson, str } from './context.js';

/**
 * OpenAI Chat Completions and Responses, including Azure OpenAI
 * (`/openai/deployments/<d>/chat/completions?api-version=`) and
 * OpenAI-compatible servers (vLLM, LiteLLM, Ollama `/v1`): recognised by path
 * suffix and request body shape, whatever the host.
 */
export function matchOpenAi(ctx: LlmContext): 'chat.completions' | 'responses' | undefined {
  const b = ctx.reqJson;
  if (!b) return undefined;
  if (/\/chat\/completions$/.test(ctx.path) && Array.isArray(b.messages)) return 'chat.completions';
  if (/\/responses$/.test(ctx.path) && (b.input !== undefined || typeof b.model === 'string')) return 'responses';
  return undefined;
}

function azureDeployment(path: string): string | undefined {
  const m = /\/openai\/deployments\/([^/]+)\//.exec(path);
  return m ? decodeUriComponentSafe(m[1]!).value : undefined;
}

function toolsOffered(b: Record<string, unknown>): string[] {
  const out: string[] = [];
  for (const t of arr(b.tools)) {
    const o = obj(t);
    const n = str(obj(o?.function)?.name) ?? str(o?.name);
    if (n !== undefined) out.push(n);
  }
  return out;
}

export function decodeChat(ctx: LlmContext): LlmCall {
  const b = ctx.reqJson!;
  const stream = b.stream === true || isEventStream(ctx.res);
  const call = baseCall('openai', 'chat.completions', str(b.model) ?? azureDeployment(ctx.path) ?? '', stream);
  call.toolsOffered = toolsOffered(b);
  for (const m of arr(b.messages)) {
    const o = obj(m);
    if (!o) continue;
    const role = str(o.role) ?? '';
    const text = contentText(o.content);
    if (role === 'tool') {
      const r: LlmCall['toolResults'][number] = { text };
      const id = str(o.tool_call_id);
      if (id !== undefined) r.callId = id;
      call.toolResults.push(r);
    }
    if (text !== '') call.inputTexts.push({ role, text });
  }
  if (stream) {
    const parts: string[] = [];
    const tools = new Map<number, { id?: string; name: string; args: string }>();
    for (const { data } of sseJson(ctx.res)) {
      if (str(data.model)) call.model = data.model as string;
      const e = httpError(ctx, data);
      if (obj(data.error)) call.error = e;
      const u = obj(data.usage);
      if (u) call.usage = usage(u);
      for (const c of arr(data.choices)) {
        const co = obj(c);
        if (!co || (num(co.index) ?? 0) !== 0) continue;
        const d = obj(co.delta);
        if (typeof d?.content === 'string') parts.push(d.content);
        for (const tc of arr(d?.tool_calls)) {
          const t = obj(tc);
          if (!t) continue;
          const idx = num(t.index) ?? 0;
          let cur = tools.get(idx);
          if (!cur) tools.set(idx, (cur = { name: '', args: '' }));
          if (str(t.id)) cur.id = t.id as string;
          const f = obj(t.function);
          if (str(f?.name)) cur.name += f!.name as string;
          if (str(f?.arguments)) cur.args += f!.arguments as string;
        }
        if (str(co.finish_reason)) call.finishReason = co.finish_reason as string;
      }
    }
    call.outputText = parts.join('');
    for (const [, t] of [...tools].sort((a, z) => a[0] - z[0])) {
      const r: LlmCall['toolsRequested'][number] = { name: t.name, arguments: parseArgs(t.args), argumentsText: t.args };
      if (t.id !== undefined) r.callId = t.id;
      call.toolsRequested.push(r);
    }
    if (!call.error) {
      const e = httpError(ctx, undefined);
      if (e) call.error = e;
    }
    return call;
  }
  const r = obj(resJson(ctx));
  const e = httpError(ctx, r);
  if (e) call.error = e;
  if (!r) return call;
  if (str(r.model)) call.model = r.model as string;
  const u = obj(r.usage);
  if (u) call.usage = usage(u);
  const c0 = obj(arr(r.choices)[0]);
  const msg = obj(c0?.message);
  if (msg) {
    call.outputText = typeof msg.content === 'string' ? msg.content : contentText(msg.content);
    for (const tc of arr(msg.tool_calls)) {
      const t = obj(tc);
      const f = obj(t?.function);
      if (!f) continue;
      const req: LlmCall['toolsRequested'][number] = { name: str(f.name) ?? '', arguments: parseArgs(f.arguments), ...(str(f.arguments) ? { argumentsText: f.arguments as string } : {}) };
      if (str(t?.id)) req.callId = t!.id as string;
      call.toolsRequested.push(req);
    }
  }
  if (str(c0?.finish_reason)) call.finishReason = c0!.finish_reason as string;
  return call;
}

function usage(u: Record<string, unknown>): NonNullable<LlmCall['usage']> {
  const out: NonNullable<LlmCall['usage']> = {};
  const i = num(u.prompt_tokens) ?? num(u.input_tokens);
  const o = num(u.completion_tokens) ?? num(u.output_tokens);
  if (i !== undefined) out.inputTokens = i;
  if (o !== undefined) out.outputTokens = o;
  return out;
}

export function decodeResponses(ctx: LlmContext): LlmCall {
  const b = ctx.reqJson!;
  const stream = b.stream === true || isEventStream(ctx.res);
  const call = baseCall('openai', 'responses', str(b.model) ?? azureDeployment(ctx.path) ?? '', stream);
  call.toolsOffered = toolsOffered(b);
  if (typeof b.instructions === 'string') call.inputTexts.push({ role: 'system', text: b.instructions });
  if (typeof b.input === 'string') call.inputTexts.push({ role: 'user', text: b.input });
  for (const it of arr(b.input)) {
    const o = obj(it);
    if (!o) continue;
    if (o.type === 'function_call_output') {
      const text = typeof o.output === 'string' ? o.output : contentText(o.output);
      const r: LlmCall['toolResults'][number] = { text };
      if (str(o.call_id)) r.callId = o.call_id as string;
      call.toolResults.push(r);
      call.inputTexts.push({ role: 'tool', text });
    } else if (o.role !== undefined) {
      const text = contentText(o.content);
      if (text !== '') call.inputTexts.push({ role: String(o.role), text });
    }
  }
  let response: Record<string, unknown> | undefined;
  const deltas: string[] = [];
  const items: Record<string, unknown>[] = [];
  if (stream) {
    for (const { event, data } of sseJson(ctx.res)) {
      const type = str(data.type) ?? event;
      if (type === 'response.output_text.delta' && typeof data.delta === 'string') deltas.push(data.delta);
      else if (type === 'response.output_item.done' && obj(data.item)) items.push(obj(data.item)!);
      else if ((type === 'response.completed' || type === 'response.incomplete' || type === 'response.failed') && obj(data.response)) response = obj(data.response);
      else if (type === 'error') call.error = { status: ctx.res?.status ?? 0, ...(str(data.code) ? { type: data.code as string } : {}) };
    }
  } else response = obj(resJson(ctx));
  const e = httpError(ctx, response);
  if (e && !call.error) call.error = e;
  if (response && str(response.model)) call.model = response.model as string;
  const output = response && Array.isArray(response.output) ? (response.output as unknown[]).map(obj).filter((x) => x) as Record<string, unknown>[] : items;
  const texts: string[] = [];
  for (const o of output) {
    if (o.type === 'message') for (const c of arr(o.content)) {
      const co = obj(c);
      if (co?.type === 'output_text' && typeof co.text === 'string') texts.push(co.text);
    }
    if (o.type === 'function_call') {
      const r: LlmCall['toolsRequested'][number] = { name: str(o.name) ?? '', arguments: parseArgs(o.arguments), ...(str(o.arguments) ? { argumentsText: o.arguments as string } : {}) };
      if (str(o.call_id)) r.callId = o.call_id as string;
      call.toolsRequested.push(r);
    }
  }
  // Reasoning summaries (reasoning items), when the API returned them.
  const reasoning = output.filter((o) => o.type === 'reasoning').flatMap((o) => arr(o.summary).map((x) => obj(x)?.text).filter((t): t is string => typeof t === 'string'));
  if (reasoning.length) call.reasoningText = reasoning.join('\n');
  // The SDK's `output_text` joins every output_text part of every message item.
  call.outputText = output.length > 0 ? texts.join('') : deltas.join('');
  const u = obj(response?.usage);
  if (u) call.usage = usage(u);
  if (str(response?.status)) call.finishReason = response!.status as string;
  return call;
}
