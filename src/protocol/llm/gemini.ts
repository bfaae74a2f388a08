import type { LlmCall } from '../../contracts/exchange.js';
import { decodeUriComponentSafe } from '../uri-decode.js';
import { type LlmContext, arr, baseCall, httpError, isEventStream, num, obj, resJson, sseJson, str } from './context.js';

/**
 * Google Gemini (Generative Language API and Vertex AI):
 * `.../models/<model>:generateContent` and `:streamGenerateContent` (SSE with
 * `?alt=sse`, otherwise a JSON array of responses).
 */
export function matchGemini(ctx: LlmContext): 'generateContent' | 'streamGenerateContent' | undefined {
  const m = /models\/[^/:]+:(generateContent|streamGenerateContent)$/.exec(ctx.path);
  if (!m || !ctx.reqJson || !Array.isArray(ctx.reqJson.contents)) return undefined;
  return m[1] as 'generateContent' | 'streamGenerateContent';
}

export function decodeGemini(ctx: LlmContext, op: 'generateContent' | 'streamGenerateContent'): LlmCall {
  const b = ctx.reqJson!;
  const model = decodeUriComponentSafe(/models\/([^/:]+):/.exec(ctx.path)?.[1] ?? '').value;
  const call = baseCall('gemini', op, model, op === 'streamGenerateContent');
  const sys = obj(b.systemInstruction ?? b.system_instruction);
  if (sys) call.inputTexts.push({ role: 'system', text: partsText(sys.parts) });
  for (const c of arr(b.contents)) {
    const o = obj(c);
    if (!o) continue;
    const role = str(o.role) ?? 'user';
    const t = partsText(o.parts);
    if (t !== '') call.inputTexts.push({ role, text: t });
    for (const p of arr(o.parts)) {
      const fr = obj(obj(p)?.functionResponse);
      if (fr) {
        const r: LlmCall['toolResults'][number] = { text: JSON.stringify(fr.response ?? null) };
        if (str(fr.name)) r.name = fr.name as string;
        if (str(fr.id)) r.callId = fr.id as string;
        call.toolResults.push(r);
      }
    }
  }
  for (const t of arr(b.tools)) {
    for (const fd of arr(obj(t)?.functionDeclarations ?? obj(t)?.function_declarations)) {
      const n = str(obj(fd)?.name);
      if (n !== undefined) call.toolsOffered.push(n);
    }
  }
  let chunks: Record<string, unknown>[];
  if (isEventStream(ctx.res)) chunks = sseJson(ctx.res).map((e) => e.data);
  else {
    const r = resJson(ctx);
    chunks = (Array.isArray(r) ? r : [r]).map(obj).filter((x): x is Record<string, unknown> => x !== undefined);
  }
  const texts: string[] = [];
  for (const ch of chunks) {
    if (obj(ch.error)) {
      const e = httpError(ctx, ch);
      if (e) call.error = e;
    }
    if (str(ch.modelVersion)) call.model = ch.modelVersion as string;
    const cand = obj(arr(ch.candidates)[0]);
    for (const p of arr(obj(cand?.content)?.parts)) {
      const po = obj(p);
      if (!po) continue;
      // The SDK's `text` skips thought parts.
      if (typeof po.text === 'string' && po.thought !== true) texts.push(po.text);
      const fc = obj(po.functionCall);
      if (fc) {
        const t: LlmCall['toolsRequested'][number] = { name: str(fc.name) ?? '', arguments: fc.args ?? {} };
        if (str(fc.id)) t.callId = fc.id as string;
        call.toolsRequested.push(t);
      }
    }
    if (str(cand?.finishReason)) call.finishReason = cand!.finishReason as string;
    const u = obj(ch.usageMetadata);
    if (u) {
      const i = num(u.promptTokenCount);
      const o = num(u.candidatesTokenCount);
      call.usage = { ...(i !== undefined ? { inputTokens: i } : {}), ...(o !== undefined ? { outputTokens: o } : {}) };
    }
  }
  call.outputText = texts.join('');
  if (!call.error) {
    const e = httpError(ctx, undefined);
    if (e) call.error = e;
  }
  return call;
}

function partsText(parts: unknown): string {
  const t: string[] = [];
  for (const p of arr(parts)) {
    const o = obj(p);
    if (o && typeof o.text === 'string') t.push(o.text);
  }
  return t.join('');
}
