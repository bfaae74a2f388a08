import type { LlmCall } from '../../contracts/exchange.js';
import { type LlmContext, arr, baseCall, contentText, httpError, isEventStream, num, obj, parseArgs, resJson, sseJson, str } from './context.js';

/** Anthropic Messages: `/v1/messages` (any host: gateways too) with a `messages` array. */
export function matchAnthropic(ctx: LlmContext): 'messages' | undefined {
  const b = ctx.reqJson;
  if (!b || !Array.isArray(b.messages)) return undefined;
  if (/\/v1\/messages$/.test(ctx.path)) return 'messages';
  if (ctx.req.headers.some(([k]) => k === 'anthropic-version') && /\/messages$/.test(ctx.path)) return 'messages';
  return undefined;
}

/** Request side, shared with Bedrock InvokeModel on Anthropic models. */
export function anthropicRequest(call: LlmCall, b: Record<string, unknown>): void {
  if (typeof b.system === 'string') call.inputTexts.push({ role: 'system', text: b.system });
  else if (Array.isArray(b.system)) call.inputTexts.push({ role: 'system', text: contentText(b.system) });
  for (const t of arr(b.tools)) {
    const n = str(obj(t)?.name);
    if (n !== undefined) call.toolsOffered.push(n);
  }
  for (const m of arr(b.messages)) {
    const o = obj(m);
    if (!o) continue;
    const role = str(o.role) ?? '';
    if (typeof o.content === 'string') {
      call.inputTexts.push({ role, text: o.content });
      continue;
    }
    for (const blk of arr(o.content)) {
      const bo = obj(blk);
      if (!bo) continue;
      if (bo.type === 'text' && typeof bo.text === 'string') call.inputTexts.push({ role, text: bo.text });
      else if (bo.type === 'tool_result') {
        const text = contentText(bo.content);
        const r: LlmCall['toolResults'][number] = { text };
        if (str(bo.tool_use_id)) r.callId = bo.tool_use_id as string;
        call.toolResults.push(r);
        call.inputTexts.push({ role: 'tool', text });
      }
    }
  }
}

/** A complete Messages response object. */
export function anthropicMessage(call: LlmCall, r: Record<string, unknown>): void {
  if (str(r.model)) call.model = r.model as string;
  const texts: string[] = [];
  for (const blk of arr(r.content)) {
    const b = obj(blk);
    if (b?.type === 'text' && typeof b.text === 'string') texts.push(b.text);
    if (b?.type === 'thinking' && typeof b.thinking === 'string') call.reasoningText = (call.reasoningText ?? '') + b.thinking;
    if (b?.type === 'tool_use') {
      const t: LlmCall['toolsRequested'][number] = { name: str(b.name) ?? '', arguments: b.input };
      if (str(b.id)) t.callId = b.id as string;
      call.toolsRequested.push(t);
    }
  }
  call.outputText = texts.join('');
  const u = obj(r.usage);
  if (u) call.usage = { ...(num(u.input_tokens) !== undefined ? { inputTokens: num(u.input_tokens)! } : {}), ...(num(u.output_tokens) !== undefined ? { outputTokens: num(u.output_tokens)! } : {}) };
  if (str(r.stop_reason)) call.finishReason = r.stop_reason as string;
}

/**
 * Streaming events (message_start, content_block_start/delta/stop,
 * message_delta, message_stop, error), assembled the way the SDK's
 * MessageStream accumulates them: text_delta appended to text blocks,
 * input_json_delta concatenated and parsed once the block stops.
 */
export function anthropicStream(call: LlmCall, events: Array<Record<string, unknown>>, status: number): void {
  const blocks = new Map<number, { type: string; text: string; json: string; id?: string; name?: string }>();
  let inTok: number | undefined;
  let outTok: number | undefined;
  for (const ev of events) {
    switch (ev.type) {
      case 'message_start': {
        const m = obj(ev.message);
        if (str(m?.model)) call.model = m!.model as string;
        const u = obj(m?.usage);
        inTok = num(u?.input_tokens) ?? inTok;
        outTok = num(u?.output_tokens) ?? outTok;
        break;
      }
      case 'content_block_start': {
        const cb = obj(ev.content_block);
        const idx = num(ev.index) ?? blocks.size;
        const blk: { type: string; text: string; json: string; id?: string; name?: string } = { type: str(cb?.type) ?? '', text: str(cb?.text) ?? '', json: '' };
        if (str(cb?.id)) blk.id = cb!.id as string;
        if (str(cb?.name)) blk.name = cb!.name as string;
        blocks.set(idx, blk);
        break;
      }
      case 'content_block_delta': {
        const d = obj(ev.delta);
        const blk = blocks.get(num(ev.index) ?? -1);
        if (!blk || !d) break;
        if (d.type === 'text_delta' && typeof d.text === 'string') blk.text += d.text;
        else if (d.type === 'input_json_delta' && typeof d.partial_json === 'string') blk.json += d.partial_json;
        else if (d.type === 'thinking_delta' && typeof d.thinking === 'string') blk.text += d.thinking;
        break;
      }
      case 'message_delta': {
        const d = obj(ev.delta);
        if (str(d?.stop_reason)) call.finishReason = d!.stop_reason as string;
        const u = obj(ev.usage);
        outTok = num(u?.output_tokens) ?? outTok;
        inTok = num(u?.input_tokens) ?? inTok;
        break;
      }
      case 'error': {
        const e = obj(ev.error);
        call.error = { status, ...(str(e?.type) ? { type: e!.type as string } : {}) };
        break;
      }
    }
  }
  const texts: string[] = [];
  for (const [, b] of [...blocks].sort((a, z) => a[0] - z[0])) {
    if (b.type === 'text') texts.push(b.text);
    else if (b.type === 'thinking') call.reasoningText = (call.reasoningText ?? '') + b.text;
    else if (b.type === 'tool_use' || b.type === 'server_tool_use') {
      const t: LlmCall['toolsRequested'][number] = { name: b.name ?? '', arguments: parseArgs(b.json) };
      if (b.id !== undefined) t.callId = b.id;
      call.toolsRequested.push(t);
    }
  }
  call.outputText = texts.join('');
  if (inTok !== undefined || outTok !== undefined) call.usage = { ...(inTok !== undefined ? { inputTokens: inTok } : {}), ...(outTok !== undefined ? { outputTokens: outTok } : {}) };
}

export function decodeAnthropic(ctx: LlmContext): LlmCall {
  const b = ctx.reqJson!;
  const stream = b.stream === true || isEventStream(ctx.res);
  const call = baseCall('anthropic', 'messages', str(b.model) ?? '', stream);
  anthropicRequest(call, b);
  if (stream) {
    anthropicStream(call, sseJson(ctx.res).map((e) => e.data), ctx.res?.status ?? 0);
    if (!call.error) {
      const e = httpError(ctx, undefined);
      if (e) call.error = e;
    }
    return call;
  }
  const r = obj(resJson(ctx));
  const e = httpError(ctx, r);
  if (e) call.error = e;
  if (r && r.type !== 'error') anthropicMessage(call, r);
  return call;
}
