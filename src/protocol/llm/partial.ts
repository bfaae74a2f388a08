import type { HttpMessage, LlmCall } from '../../contracts/exchange.js';
import { obj, sseJson, str } from './context.js';
import { tryJson } from '../jsonrpc.js';

/**
 * A model call whose request body was not captured whole (a TLS call above
 * the kernel capture cap, a body above the protocol body cap). Its JSON no
 * longer parses, so the provider is recognised by path alone and the request
 * stands in as a skeleton that carries only what can be read from the
 * captured prefix without parsing prompts: the model id and the stream flag.
 * The call is still a model.invocation, with `inputComplete: false` and the
 * request's true byte count (DESIGN: a model call is never lost to its size).
 */

/** Paths of the providers decodeLlm knows (the body-shape checks need the JSON we lack). */
const LLM_PATH = /(?:\/v1\/messages|\/messages|\/chat\/completions|\/responses|models\/[^/:]+:(?:generateContent|streamGenerateContent)|\/api\/(?:chat|generate)|\/model\/[^/]+\/(?:converse|converse-stream|invoke|invoke-with-response-stream))$/;

/** Bytes of the captured prefix searched for `"model"` and `"stream"`: these sit near the top in every SDK we know. */
const SCAN_BYTES = 64 * 1024;

export function skeletonRequest(req: HttpMessage, path: string): Record<string, unknown> | undefined {
  if (!req.truncated || !LLM_PATH.test(path)) return undefined;
  const head = req.body.subarray(0, SCAN_BYTES).toString('utf8');
  if (!/^\s*\{/.test(head)) return undefined;
  const model = /"model"\s*:\s*"([^"\\]{1,200})"/.exec(head)?.[1];
  const stream = /"stream"\s*:\s*(true|false)/.exec(head)?.[1];
  return {
    ...(model !== undefined ? { model } : {}),
    ...(stream !== undefined ? { stream: stream === 'true' } : {}),
    messages: [],
    contents: [],
    input: '',
  };
}

/** Mark a call decoded from a skeleton: no prompt pieces, the true size of the request. */
export function markIncomplete(call: LlmCall, req: HttpMessage, res: HttpMessage | undefined): LlmCall {
  call.inputTexts = [];
  call.toolsOffered = [];
  call.toolResults = [];
  call.inputComplete = false;
  call.inputWireBytes = Math.max(req.wireBytes, req.decodedBytes);
  if (!call.model) call.model = responseModel(res) ?? '';
  return call;
}

/** The model id the provider echoed in its answer (JSON body or the first SSE event that names it). */
function responseModel(res: HttpMessage | undefined): string | undefined {
  if (!res) return undefined;
  for (const e of sseJson(res)) {
    const m = str(e.data.model) ?? str(obj(e.data.message)?.model) ?? str(obj(e.data.response)?.model);
    if (m) return m;
  }
  const b = res.body.length > 0 && res.sse === undefined ? obj(tryJson(res.body)) : undefined;
  return str(b?.model) ?? str(b?.modelVersion);
}
