import type { Exchange, HttpMessage } from '../contracts/exchange.js';
import type { StageStats } from '../observability/stage-stats.js';
import { header } from './body.js';
import { type JsonRpcMessage, classifyJsonRpc, parseJsonRpcBody, tryJson } from './jsonrpc.js';
import { decodeLlm } from './llm/index.js';
import { isMcpMethod, mcpCall } from './mcp.js';

/**
 * Attach the application view to an HTTP exchange: an LLM API call, or MCP
 * over streamable HTTP (POST with a JSON or SSE answer). A JSON-RPC batch
 * yields one exchange per request, sharing the same HTTP messages.
 */
export function annotateHttp(x: Exchange, stats: StageStats): Exchange[] {
  const req = x.request;
  if (!req || req.method !== 'POST' || req.body.length === 0) return [x];
  try {
    const ctr = { errors: 0 };
    const llm = decodeLlm(req, x.response, ctr);
    if (ctr.errors > 0) stats.error('protocol', 'aws_event_stream_bad_frame', ctr.errors);
    if (llm) {
      x.llm = llm;
      stats.count(`llm_${llm.provider}`);
      // Still a model.invocation, but its prompt was not seen whole: counted by reason.
      if (llm.inputComplete === false) stats.drop('protocol', 'llm_input_incomplete');
      return [x];
    }
    return mcpOverHttp(x, req, stats) ?? [x];
  } catch {
    stats.error('protocol', 'annotate_failed');
    return [x];
  }
}

function mcpOverHttp(x: Exchange, req: HttpMessage, stats: StageStats): Exchange[] | undefined {
  const first = req.body.subarray(0, 64).toString('latin1').trimStart();
  if (!first.startsWith('{') && !first.startsWith('[')) return undefined;
  const { messages } = parseJsonRpcBody(req.body);
  const sessionHeader = header(req.headers, 'mcp-session-id') !== undefined || header(req.headers, 'mcp-protocol-version') !== undefined;
  const calls = messages.filter((m): m is Extract<JsonRpcMessage, { kind: 'request' | 'notification' }> => m.kind !== 'response');
  if (calls.length === 0 || !(sessionHeader || calls.some((m) => isMcpMethod(m.method)))) return undefined;
  const responses = new Map<string, Extract<JsonRpcMessage, { kind: 'response' }>>();
  const res = x.response;
  if (res) {
    const add = (v: unknown, bytes: number) => {
      for (const m of classifyJsonRpc(v, bytes).messages) if (m.kind === 'response') responses.set(JSON.stringify(m.id), m);
    };
    if (res.sse) for (const e of res.sse) {
      const v = tryJson(e.data);
      if (v !== undefined) add(v, Buffer.byteLength(e.data));
    }
    else if (res.body.length > 0) {
      const v = tryJson(res.body);
      if (v !== undefined) add(v, res.body.length);
    }
  }
  stats.count('mcp_http', calls.length);
  return calls.map((m, i) => {
    const r = m.kind === 'request' ? responses.get(JSON.stringify(m.id)) : undefined;
    const out: Exchange = i === 0 ? x : { ...x };
    out.mcp = mcpCall(m, r);
    if (m.kind === 'request' && !r && !x.incomplete && (res?.status ?? 0) < 400 && res?.status !== 202) stats.count('mcp_http_unanswered');
    return out;
  });
}
