import type { McpCall } from '../contracts/exchange.js';
import type { JsonRpcMessage } from './jsonrpc.js';
import { jsonBytes } from './jsonrpc.js';

type Req = Extract<JsonRpcMessage, { kind: 'request' | 'notification' }>;
type Res = Extract<JsonRpcMessage, { kind: 'response' }>;

const MCP_METHOD = /^(initialize|ping|tools\/|resources\/|prompts\/|completion\/|logging\/|notifications\/|sampling\/|roots\/|elicitation\/)/;

/** A JSON-RPC method that belongs to MCP. */
export function isMcpMethod(method: string): boolean {
  return MCP_METHOD.test(method);
}

function obj(v: unknown): Record<string, unknown> | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

function info(v: unknown): { name: string; version: string } | undefined {
  const o = obj(v);
  if (!o || typeof o.name !== 'string') return undefined;
  return { name: o.name, version: typeof o.version === 'string' ? o.version : '' };
}

/** Text of an MCP result's `content` (text items joined by LF) or of `contents` (resources/read). */
function resultText(result: Record<string, unknown>): string | undefined {
  const pieces: string[] = [];
  const content = Array.isArray(result.content) ? result.content : Array.isArray(result.contents) ? result.contents : undefined;
  if (content) {
    for (const c of content) {
      const o = obj(c);
      if (o && typeof o.text === 'string') pieces.push(o.text);
      else if (o && obj(o.resource) && typeof obj(o.resource)!.text === 'string') pieces.push(obj(o.resource)!.text as string);
    }
  }
  if (Array.isArray(result.messages)) {
    for (const m of result.messages) {
      const c = obj(obj(m)?.content);
      if (c && typeof c.text === 'string') pieces.push(c.text);
    }
  }
  if (pieces.length === 0 && result.structuredContent !== undefined) return JSON.stringify(result.structuredContent);
  return pieces.length > 0 ? pieces.join('\n') : undefined;
}

/** Build the MCP view of a request (or notification) and its response, when one was seen. */
export function mcpCall(req: Req, res?: Res): McpCall {
  const params = req.params;
  const p = obj(params);
  const call: McpCall = { method: req.method, id: req.kind === 'request' ? req.id : null, params };
  if (req.wire) call.requestWire = req.wire;
  if (res?.wire) call.responseWire = res.wire;
  if (req.method === 'initialize') {
    const ci = info(p?.clientInfo);
    if (ci) call.clientInfo = ci;
  } else if (req.method === 'tools/call') {
    if (typeof p?.name === 'string') call.toolName = p.name;
    call.arguments = p?.arguments;
  } else if (req.method === 'resources/read') {
    if (typeof p?.uri === 'string') call.resourceUri = p.uri;
  } else if (req.method === 'prompts/get') {
    if (typeof p?.name === 'string') call.promptName = p.name;
    call.arguments = p?.arguments;
  }
  if (res) {
    if (res.error) call.error = res.error;
    if ('result' in res) {
      call.result = res.result;
      call.resultBytes = res.resultBytes || jsonBytes(res.result);
      const r = obj(res.result);
      if (r) {
        if (req.method === 'initialize') {
          const si = info(r.serverInfo);
          if (si) call.serverInfo = si;
        }
        const t = resultText(r);
        if (t !== undefined) call.resultText = t;
        if (typeof r.isError === 'boolean') call.isError = r.isError;
      }
    }
    if (res.error) call.isError = true;
  }
  return call;
}
