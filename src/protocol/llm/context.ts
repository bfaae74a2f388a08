import type { HttpMessage, LlmCall } from '../../contracts/exchange.js';
import { header } from '../body.js';
import { tryJson } from '../jsonrpc.js';

/** What every LLM decoder sees: the exchange and its parsed request body. */
export interface LlmContext {
  req: HttpMessage;
  res: HttpMessage | undefined;
  /** Path without query string. */
  path: string;
  query: URLSearchParams;
  host: string;
  reqJson: Record<string, unknown> | undefined;
}

export function makeContext(req: HttpMessage, res: HttpMessage | undefined): LlmContext {
  const full = req.path ?? '';
  const q = full.indexOf('?');
  const path = q === -1 ? full : full.slice(0, q);
  const v = req.body.length > 0 ? tryJson(req.body) : undefined;
  return {
    req,
    res,
    path,
    query: new URLSearchParams(q === -1 ? '' : full.slice(q + 1)),
    host: (req.authority ?? '').toLowerCase(),
    reqJson: obj(v),
  };
}

export function obj(v: unknown): Record<string, unknown> | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}
export function arr(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}
export function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}
export function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

/** Parse a JSON string of tool arguments; undefined when it is not valid JSON. */
export function parseArgs(s: unknown): unknown {
  if (typeof s !== 'string') return s;
  if (s === '') return {};
  try {
    return JSON.parse(s);
  } catch {
    return undefined;
  }
}

export function resJson(ctx: LlmContext): unknown {
  return ctx.res && ctx.res.body.length > 0 ? tryJson(ctx.res.body) : undefined;
}

export function isEventStream(m: HttpMessage | undefined): boolean {
  return (header(m?.headers ?? [], 'content-type') ?? '').toLowerCase().startsWith('text/event-stream') || (m?.sse !== undefined);
}

/** Each SSE `data` parsed as JSON (non-JSON such as `[DONE]` skipped), with its event name. */
export function sseJson(m: HttpMessage | undefined): Array<{ event?: string; data: Record<string, unknown> }> {
  const out: Array<{ event?: string; data: Record<string, unknown> }> = [];
  for (const e of m?.sse ?? []) {
    const d = obj(tryJson(e.data));
    if (!d) continue;
    out.push(e.event !== undefined ? { event: e.event, data: d } : { data: d });
  }
  return out;
}

/** Error info from an HTTP status >= 400 and/or a JSON error object. */
export function httpError(ctx: LlmContext, body: unknown): LlmCall['error'] {
  const st = ctx.res?.status ?? 0;
  const e = obj(obj(body)?.error);
  if (st < 400 && !e) return undefined;
  const out: NonNullable<LlmCall['error']> = { status: st };
  const t = str(e?.type) ?? str(e?.code) ?? str(e?.status) ?? str(obj(body)?.type);
  if (t !== undefined) out.type = t;
  return out;
}

/** Text of a message `content` that is a string or a list of text parts. */
export function contentText(c: unknown): string {
  if (typeof c === 'string') return c;
  const parts: string[] = [];
  for (const p of arr(c)) {
    const o = obj(p);
    if (o && typeof o.text === 'string' && (o.type === undefined || /text/.test(String(o.type)))) parts.push(o.text);
  }
  return parts.join('');
}

export function baseCall(provider: LlmCall['provider'], operation: string, model: string, stream: boolean): LlmCall {
  return { provider, operation, model, stream, inputTexts: [], outputText: '', toolsOffered: [], toolsRequested: [], toolResults: [] };
}
