import type { LlmCall } from '../../contracts/exchange.js';
import { parseAwsEventStream } from '../aws-event-stream.js';
import { tryJson } from '../jsonrpc.js';
import { anthropicMessage, anthropicRequest, anthropicStream } from './anthropic.js';
import { decodeUriComponentSafe } from '../uri-decode.js';
import { type LlmContext, arr, baseCall, httpError, num, obj, resJson, str } from './context.js';

type Op = 'invoke' | 'invoke-with-response-stream' | 'converse' | 'converse-stream';

/** AWS Bedrock runtime: `/model/<modelId>/{invoke,invoke-with-response-stream,converse,converse-stream}`. */
export function matchBedrock(ctx: LlmContext): Op | undefined {
  const m = /^\/model\/([^/]+)\/(invoke|invoke-with-response-stream|converse|converse-stream)$/.exec(ctx.path);
  if (!m || !ctx.reqJson) return undefined;
  return m[2] as Op;
}

export function decodeBedrock(ctx: LlmContext, op: Op, counters: { errors: number }): LlmCall {
  const b = ctx.reqJson!;
  const model = decodeUriComponentSafe(/^\/model\/([^/]+)\//.exec(ctx.path)?.[1] ?? '').value;
  const stream = op.endsWith('stream');
  const call = baseCall('bedrock', op.startsWith('converse') ? (stream ? 'converseStream' : 'converse') : stream ? 'invokeStream' : 'invoke', model, stream);
  const status = ctx.res?.status ?? 0;
  let events: Array<{ type: string; payload: Record<string, unknown> }> = [];
  if (stream && ctx.res && status < 400) {
    const r = parseAwsEventStream(ctx.res.body);
    counters.errors += r.errors;
    events = r.messages.map((m) => ({
      type: String(m.headers[':message-type'] === 'exception' ? `exception:${String(m.headers[':exception-type'] ?? '')}` : m.headers[':event-type'] ?? ''),
      payload: obj(tryJson(m.payload)) ?? {},
    }));
  }
  if (op.startsWith('converse')) {
    converseRequest(call, b);
    if (stream) converseStream(call, events, status);
    else {
      const r = obj(resJson(ctx));
      const e = httpError(ctx, r);
      if (e) call.error = e;
      if (r) {
        const msg = obj(obj(r.output)?.message);
        const texts: string[] = [];
        for (const c of arr(msg?.content)) {
          const co = obj(c);
          if (typeof co?.text === 'string') texts.push(co.text);
          const tu = obj(co?.toolUse);
          if (tu) call.toolsRequested.push({ name: str(tu.name) ?? '', ...(str(tu.toolUseId) ? { callId: tu.toolUseId as string } : {}), arguments: tu.input });
        }
        call.outputText = texts.join('');
        usage(call, obj(r.usage));
        if (str(r.stopReason)) call.finishReason = r.stopReason as string;
      }
    }
  } else {
    // InvokeModel carries the model's native body; Anthropic models use the Messages shape.
    if (Array.isArray(b.messages)) anthropicRequest(call, b);
    else if (typeof b.prompt === 'string') call.inputTexts.push({ role: 'user', text: b.prompt });
    else if (typeof b.inputText === 'string') call.inputTexts.push({ role: 'user', text: b.inputText });
    if (stream) {
      const chunks = events
        .filter((e) => e.type === 'chunk')
        .map((e) => (typeof e.payload.bytes === 'string' ? obj(tryJson(Buffer.from(e.payload.bytes, 'base64'))) : undefined))
        .filter((x): x is Record<string, unknown> => x !== undefined);
      for (const e of events) if (e.type.startsWith('exception:')) call.error = { status, type: e.type.slice(10) };
      if (chunks.some((c) => typeof c.type === 'string' && String(c.type).startsWith('message'))) anthropicStream(call, chunks, status);
      else call.outputText = chunks.map((c) => str(c.outputText) ?? str(c.generation) ?? str(c.completion) ?? '').join('');
      const metrics = obj(chunks[chunks.length - 1]?.['amazon-bedrock-invocationMetrics']);
      if (metrics && !call.usage) {
        const i = num(metrics.inputTokenCount);
        const o = num(metrics.outputTokenCount);
        call.usage = { ...(i !== undefined ? { inputTokens: i } : {}), ...(o !== undefined ? { outputTokens: o } : {}) };
      }
    } else {
      const r = obj(resJson(ctx));
      const e = httpError(ctx, r);
      if (e) call.error = e;
      if (r?.type === 'message') anthropicMessage(call, r);
      else if (r) call.outputText = str(r.outputText) ?? str(r.generation) ?? str(r.completion) ?? str(obj(arr(r.results)[0])?.outputText) ?? '';
    }
    call.model = model;
  }
  if (!call.error) {
    const e = httpError(ctx, undefined);
    if (e) call.error = e;
  }
  // AWS names the error in a header: `x-amzn-errortype: ValidationException:http://…`.
  const et = ctx.res?.headers.find(([k]) => k === 'x-amzn-errortype')?.[1];
  if (call.error && et) call.error.type = et.split(':')[0]!;
  return call;
}

function usage(call: LlmCall, u: Record<string, unknown> | undefined): void {
  if (!u) return;
  const i = num(u.inputTokens);
  const o = num(u.outputTokens);
  call.usage = { ...(i !== undefined ? { inputTokens: i } : {}), ...(o !== undefined ? { outputTokens: o } : {}) };
}

function converseRequest(call: LlmCall, b: Record<string, unknown>): void {
  for (const s of arr(b.system)) {
    const t = str(obj(s)?.text);
    if (t !== undefined) call.inputTexts.push({ role: 'system', text: t });
  }
  for (const m of arr(b.messages)) {
    const o = obj(m);
    const role = str(o?.role) ?? '';
    for (const c of arr(o?.content)) {
      const co = obj(c);
      if (typeof co?.text === 'string') call.inputTexts.push({ role, text: co.text });
      const tr = obj(co?.toolResult);
      if (tr) {
        const text = arr(tr.content).map((x) => str(obj(x)?.text) ?? (obj(x)?.json !== undefined ? JSON.stringify(obj(x)!.json) : '')).join('');
        call.toolResults.push({ text, ...(str(tr.toolUseId) ? { callId: tr.toolUseId as string } : {}) });
        call.inputTexts.push({ role: 'tool', text });
      }
    }
  }
  for (const t of arr(obj(b.toolConfig)?.tools)) {
    const n = str(obj(obj(t)?.toolSpec)?.name);
    if (n !== undefined) call.toolsOffered.push(n);
  }
}

function converseStream(call: LlmCall, events: Array<{ type: string; payload: Record<string, unknown> }>, status: number): void {
  const blocks = new Map<number, { text: string; json: string; tool?: { id?: string; name: string } }>();
  const get = (i: number) => {
    let b = blocks.get(i);
    if (!b) blocks.set(i, (b = { text: '', json: '' }));
    return b;
  };
  for (const { type, payload } of events) {
    const idx = num(payload.contentBlockIndex) ?? 0;
    if (type === 'contentBlockStart') {
      const tu = obj(obj(payload.start)?.toolUse);
      if (tu) get(idx).tool = { name: str(tu.name) ?? '', ...(str(tu.toolUseId) ? { id: tu.toolUseId as string } : {}) };
    } else if (type === 'contentBlockDelta') {
      const d = obj(payload.delta);
      if (typeof d?.text === 'string') get(idx).text += d.text;
      const tu = obj(d?.toolUse);
      if (typeof tu?.input === 'string') get(idx).json += tu.input;
    } else if (type === 'messageStop') {
      if (str(payload.stopReason)) call.finishReason = payload.stopReason as string;
    } else if (type === 'metadata') usage(call, obj(payload.usage));
    else if (type.startsWith('exception:')) call.error = { status, type: type.slice(10) };
  }
  const texts: string[] = [];
  for (const [, b] of [...blocks].sort((a, z) => a[0] - z[0])) {
    texts.push(b.text);
    if (b.tool) {
      let args: unknown;
      try {
        args = b.json === '' ? {} : JSON.parse(b.json);
      } catch {
        args = undefined;
      }
      call.toolsRequested.push({ name: b.tool.name, ...(b.tool.id ? { callId: b.tool.id } : {}), arguments: args });
    }
  }
  call.outputText = texts.join('');
}
