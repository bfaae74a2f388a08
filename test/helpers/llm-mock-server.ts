/**
 * A local HTTPS mock of the LLM APIs agentrail decodes, speaking their
 * recorded wire formats (JSON and streaming): OpenAI Chat Completions and
 * Responses, Anthropic Messages, Gemini generateContent/streamGenerateContent,
 * Bedrock Converse/ConverseStream/InvokeModel(+stream, AWS event-stream
 * framing), Ollama /api/chat (NDJSON). MCP over streamable HTTP is served by
 * the real @modelcontextprotocol/sdk server under /mcp.
 *
 * Script: if the request offers tools and carries no tool result yet, the
 * model asks for `toolCall`; otherwise it answers `finalText`. HTTP/2 and
 * HTTP/1.1 on one port (ALPN), so curl --http2 and the SDKs both work.
 *
 * Run standalone: node llm-mock-server.js --cert C --key K [--port N]
 * prints `{"port":N}` on stdout once listening.
 */
import http2 from 'node:http2';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { z } from 'zod';
import { WebSocketServer } from 'ws';
import type { Duplex } from 'node:stream';

export interface MockScript {
  toolCall: { name: string; arguments: Record<string, unknown> };
  finalText: string;
  /** Text the MCP tool `lookup_customer` returns. */
  mcpToolText: string;
  /**
   * A multi-step agent loop: the request carrying N tool results is answered with tool call N
   * (0-based); once all ran, `finalText`. Overrides `toolCall` when set.
   */
  toolCalls?: Array<{ name: string; arguments: Record<string, unknown> }>;
  /** Respond with this HTTP status to the next N model requests (error + retry tests). */
  failNext?: { status: number; count: number };
}

export const defaultScript: MockScript = {
  toolCall: { name: 'read_file', arguments: { path: '/tmp/agentrail-demo.txt', max_bytes: 4096 } },
  finalText: 'The file holds the quarterly numbers; nothing else to report.',
  mcpToolText: 'customer record found',
};

type Req = http2.Http2ServerRequest | IncomingMessage;
/** The part of http/http2 responses the mock uses (both implement it). */
interface Res {
  statusCode: number;
  writeHead(status: number, headers?: Record<string, string | number>): unknown;
  write(chunk: string | Buffer): unknown;
  end(chunk?: string | Buffer): unknown;
}

interface Parsed {
  tools: boolean;
  toolResult: boolean;
  /** How many tool results the request carries back (the step of a scripted loop). */
  toolResults: number;
  stream: boolean;
  model: string;
  promptChars: number;
}

function words(s: string): string[] {
  return s.match(/\S+\s*/g) ?? [s];
}

function inspect(body: any, urlPath: string): Parsed {
  const msgs: any[] = body?.messages ?? body?.contents ?? body?.input ?? [];
  const arr = Array.isArray(msgs) ? msgs : [];
  const text = JSON.stringify(body ?? {});
  const toolResults =
    arr.filter((m) => m?.role === 'tool').length +
    arr.reduce((n, m) => n + (Array.isArray(m?.content) ? m.content.filter((c: any) => c?.type === 'tool_result' || c?.toolResult).length : 0), 0) +
    arr.filter((m) => m?.type === 'function_call_output').length +
    arr.reduce((n, m) => n + (Array.isArray(m?.parts) ? m.parts.filter((p: any) => p?.functionResponse).length : 0), 0);
  const toolResult = toolResults > 0;
  const tools = Array.isArray(body?.tools) ? body.tools.length > 0 : !!body?.toolConfig?.tools?.length;
  const mPath = /models\/([^:/]+)/.exec(urlPath)?.[1] ?? /\/model\/([^/]+)\//.exec(urlPath)?.[1];
  return {
    tools,
    toolResult,
    toolResults,
    stream: body?.stream === true || /stream/i.test(urlPath),
    model: body?.model ?? (mPath ? decodeURIComponent(mPath) : 'unknown-model'),
    promptChars: text.length,
  };
}

function usage(p: Parsed, out: string) {
  return { input: Math.max(1, Math.ceil(p.promptChars / 4)), output: Math.max(1, words(out).length) };
}

function send(res: Res, status: number, type: string, body: string | Buffer): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function sse(res: Res, chunks: Array<{ event?: string; data: string }>, crlf = false): void {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  const nl = crlf ? '\r\n' : '\n';
  for (const c of chunks) res.write(`${c.event ? `event: ${c.event}${nl}` : ''}data: ${c.data}${nl}${nl}`);
  res.end();
}

// --- OpenAI ---------------------------------------------------------------

function openaiChat(p: Parsed, s: MockScript, res: Res): void {
  const id = `chatcmpl-${randomUUID().replace(/-/g, '').slice(0, 24)}`;
  const created = Math.floor(Date.now() / 1000);
  const call = p.tools && !p.toolResult;
  const text = call ? '' : s.finalText;
  const u = usage(p, call ? JSON.stringify(s.toolCall) : text);
  const callId = `call_${randomUUID().replace(/-/g, '').slice(0, 24)}`;
  const args = JSON.stringify(s.toolCall.arguments);
  if (!p.stream) {
    const message: any = { role: 'assistant', content: call ? null : text, refusal: null, annotations: [] };
    if (call) message.tool_calls = [{ id: callId, type: 'function', function: { name: s.toolCall.name, arguments: args } }];
    send(res, 200, 'application/json', JSON.stringify({
      id, object: 'chat.completion', created, model: p.model,
      choices: [{ index: 0, message, logprobs: null, finish_reason: call ? 'tool_calls' : 'stop' }],
      usage: { prompt_tokens: u.input, completion_tokens: u.output, total_tokens: u.input + u.output },
      system_fingerprint: 'fp_mock0001',
    }));
    return;
  }
  const base = { id, object: 'chat.completion.chunk', created, model: p.model, system_fingerprint: 'fp_mock0001' };
  const chunks: Array<{ data: string }> = [];
  const push = (delta: any, finish: string | null) =>
    chunks.push({ data: JSON.stringify({ ...base, choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] }) });
  if (call) {
    push({ role: 'assistant', content: null, tool_calls: [{ index: 0, id: callId, type: 'function', function: { name: s.toolCall.name, arguments: '' } }] }, null);
    for (let i = 0; i < args.length; i += 7) push({ tool_calls: [{ index: 0, function: { arguments: args.slice(i, i + 7) } }] }, null);
    push({}, 'tool_calls');
  } else {
    push({ role: 'assistant', content: '', refusal: null }, null);
    for (const w of words(text)) push({ content: w }, null);
    push({}, 'stop');
  }
  chunks.push({ data: JSON.stringify({ ...base, choices: [], usage: { prompt_tokens: u.input, completion_tokens: u.output, total_tokens: u.input + u.output } }) });
  chunks.push({ data: '[DONE]' });
  sse(res, chunks);
}

/** The Responses API answer: the response object and, streamed, its events (SSE or WebSocket). */
function responsesTurn(p: Parsed, s: MockScript) {
  const id = `resp_${randomUUID().replace(/-/g, '')}`;
  const created_at = Math.floor(Date.now() / 1000);
  const call = p.tools && !p.toolResult;
  const text = call ? '' : s.finalText;
  const u = usage(p, call ? JSON.stringify(s.toolCall) : text);
  const callId = `call_${randomUUID().replace(/-/g, '').slice(0, 24)}`;
  const item: any = call
    ? { type: 'function_call', id: `fc_${randomUUID().replace(/-/g, '')}`, call_id: callId, name: s.toolCall.name, arguments: JSON.stringify(s.toolCall.arguments), status: 'completed' }
    : { type: 'message', id: `msg_${randomUUID().replace(/-/g, '')}`, status: 'completed', role: 'assistant', content: [{ type: 'output_text', text, annotations: [] }] };
  const response = {
    id, object: 'response', created_at, status: 'completed', error: null, incomplete_details: null, model: p.model,
    output: [item], parallel_tool_calls: true, tool_choice: 'auto', tools: [],
    usage: { input_tokens: u.input, input_tokens_details: { cached_tokens: 0 }, output_tokens: u.output, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: u.input + u.output },
  };
  let seq = 0;
  const ev = (type: string, o: any) => ({ event: type, data: JSON.stringify({ type, sequence_number: seq++, ...o }) });
  const chunks = [ev('response.created', { response: { ...response, status: 'in_progress', output: [], usage: null } })];
  if (call) {
    chunks.push(ev('response.output_item.added', { output_index: 0, item: { ...item, arguments: '', status: 'in_progress' } }));
    chunks.push(ev('response.function_call_arguments.delta', { item_id: item.id, output_index: 0, delta: item.arguments }));
    chunks.push(ev('response.function_call_arguments.done', { item_id: item.id, output_index: 0, arguments: item.arguments }));
  } else {
    chunks.push(ev('response.output_item.added', { output_index: 0, item: { ...item, content: [], status: 'in_progress' } }));
    chunks.push(ev('response.content_part.added', { item_id: item.id, output_index: 0, content_index: 0, part: { type: 'output_text', text: '', annotations: [] } }));
    for (const w of words(text)) chunks.push(ev('response.output_text.delta', { item_id: item.id, output_index: 0, content_index: 0, delta: w }));
    chunks.push(ev('response.output_text.done', { item_id: item.id, output_index: 0, content_index: 0, text }));
  }
  chunks.push(ev('response.output_item.done', { output_index: 0, item }));
  chunks.push(ev('response.completed', { response }));
  return { response, chunks };
}

function openaiResponses(p: Parsed, s: MockScript, res: Res): void {
  const { response, chunks } = responsesTurn(p, s);
  if (p.stream) sse(res, chunks);
  else send(res, 200, 'application/json', JSON.stringify(response));
}

/**
 * The Responses API over WebSocket, as OpenAI serves it at wss://…/v1/responses
 * (Codex tries it first): each client text message `{"type":"response.create", …}`
 * (the request fields at top level) is answered with the events of the SSE stream,
 * one JSON object per text frame. permessage-deflate is offered like the real server.
 */
function responsesWebSocket(wss: WebSocketServer, script: MockScript, requests: MockServer['requests']) {
  return (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const path = new URL(req.url ?? '/', 'https://mock.local').pathname;
    if (!/\/responses$/.test(path)) {
      socket.end('HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      requests.push({ method: 'WS', path, status: 101 });
      ws.on('message', (data, isBinary) => {
        const body = isBinary ? undefined : (tryParse(data.toString()) as any);
        if (body?.type !== 'response.create') return;
        requests.push({ method: 'WS', path: `${path}#response.create`, status: 200 });
        const { p, s } = scriptStep(inspect(body, path), script);
        for (const c of responsesTurn(p, s).chunks) ws.send(c.data);
      });
    });
  };
}

/** A scripted loop: the request's step picks the tool call; past the last step, the final text. */
function scriptStep(parsed: Parsed, script: MockScript): { p: Parsed; s: MockScript } {
  const seq = script.toolCalls;
  const step = seq ? Math.min(parsed.toolResults, seq.length) : 0;
  return {
    p: seq ? { ...parsed, toolResult: step >= seq.length } : parsed,
    s: seq && step < seq.length ? { ...script, toolCall: seq[step]! } : script,
  };
}

function tryParse(s: string): unknown {
  try {
    return JSON.parse(s);
  } catch {
    return undefined;
  }
}

// --- Anthropic ----------------------------------------------------------------

function anthropicMessages(p: Parsed, s: MockScript, res: Res): void {
  const id = `msg_${randomUUID().replace(/-/g, '').slice(0, 24)}`;
  const call = p.tools && !p.toolResult;
  const text = call ? 'Let me read that file.' : s.finalText;
  const u = usage(p, text);
  const toolId = `toolu_${randomUUID().replace(/-/g, '').slice(0, 24)}`;
  const content: any[] = [{ type: 'text', text }];
  if (call) content.push({ type: 'tool_use', id: toolId, name: s.toolCall.name, input: s.toolCall.arguments });
  const stop = call ? 'tool_use' : 'end_turn';
  if (!p.stream) {
    send(res, 200, 'application/json', JSON.stringify({
      id, type: 'message', role: 'assistant', model: p.model, content, stop_reason: stop, stop_sequence: null,
      usage: { input_tokens: u.input, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: u.output },
    }));
    return;
  }
  const ev = (type: string, o: any) => ({ event: type, data: JSON.stringify({ type, ...o }) });
  const chunks = [
    ev('message_start', { message: { id, type: 'message', role: 'assistant', model: p.model, content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: u.input, output_tokens: 1 } } }),
    ev('content_block_start', { index: 0, content_block: { type: 'text', text: '' } }),
    ev('ping', {}),
  ];
  for (const w of words(text)) chunks.push(ev('content_block_delta', { index: 0, delta: { type: 'text_delta', text: w } }));
  chunks.push(ev('content_block_stop', { index: 0 }));
  if (call) {
    const args = JSON.stringify(s.toolCall.arguments);
    chunks.push(ev('content_block_start', { index: 1, content_block: { type: 'tool_use', id: toolId, name: s.toolCall.name, input: {} } }));
    for (let i = 0; i < args.length; i += 9) chunks.push(ev('content_block_delta', { index: 1, delta: { type: 'input_json_delta', partial_json: args.slice(i, i + 9) } }));
    chunks.push(ev('content_block_stop', { index: 1 }));
  }
  chunks.push(ev('message_delta', { delta: { stop_reason: stop, stop_sequence: null }, usage: { output_tokens: u.output } }));
  chunks.push(ev('message_stop', {}));
  sse(res, chunks);
}

// --- Gemini -------------------------------------------------------------------------

function gemini(p: Parsed, s: MockScript, res: Res, alt: string | null): void {
  const call = p.tools && !p.toolResult;
  const text = call ? '' : s.finalText;
  const u = usage(p, text || JSON.stringify(s.toolCall));
  const meta = { promptTokenCount: u.input, candidatesTokenCount: u.output, totalTokenCount: u.input + u.output };
  const part = call ? { functionCall: { name: s.toolCall.name, args: s.toolCall.arguments } } : { text };
  const full = { candidates: [{ content: { parts: [part], role: 'model' }, finishReason: 'STOP', index: 0 }], usageMetadata: meta, modelVersion: p.model };
  if (!p.stream) return send(res, 200, 'application/json; charset=UTF-8', JSON.stringify(full));
  const pieces = call ? [part] : words(text).map((w) => ({ text: w }));
  const objs = pieces.map((pc, i) => ({
    candidates: [{ content: { parts: [pc], role: 'model' }, ...(i === pieces.length - 1 ? { finishReason: 'STOP' } : {}), index: 0 }],
    usageMetadata: i === pieces.length - 1 ? meta : { promptTokenCount: u.input, totalTokenCount: u.input },
    modelVersion: p.model,
  }));
  if (alt === 'sse') return sse(res, objs.map((o) => ({ data: JSON.stringify(o) })), true);
  send(res, 200, 'application/json; charset=UTF-8', JSON.stringify(objs, null, 1));
}

// --- Ollama --------------------------------------------------------------------------------

function ollamaChat(p: Parsed, s: MockScript, res: Res): void {
  const text = s.finalText;
  const u = usage(p, text);
  const at = new Date().toISOString();
  const last = { model: p.model, created_at: at, message: { role: 'assistant', content: '' }, done_reason: 'stop', done: true, total_duration: 123456789, load_duration: 1234567, prompt_eval_count: u.input, prompt_eval_duration: 2345678, eval_count: u.output, eval_duration: 3456789 };
  if (p.stream === false && !/stream/.test('')) {
    // Ollama streams unless "stream": false is sent.
  }
  res.writeHead(200, { 'content-type': 'application/x-ndjson' });
  for (const w of words(text)) res.write(JSON.stringify({ model: p.model, created_at: at, message: { role: 'assistant', content: w }, done: false }) + '\n');
  res.end(JSON.stringify(last) + '\n');
}

// --- Bedrock ----------------------------------------------------------------------------------

/** AWS event-stream message: prelude (total, headers len, crc), headers, payload, message crc. */
export function eventStreamMessage(headers: Record<string, string>, payload: Buffer): Buffer {
  const hs: Buffer[] = [];
  for (const [k, v] of Object.entries(headers)) {
    const kb = Buffer.from(k);
    const vb = Buffer.from(v);
    const h = Buffer.alloc(1 + kb.length + 1 + 2 + vb.length);
    h.writeUInt8(kb.length, 0);
    kb.copy(h, 1);
    h.writeUInt8(7, 1 + kb.length); // string
    h.writeUInt16BE(vb.length, 2 + kb.length);
    vb.copy(h, 4 + kb.length);
    hs.push(h);
  }
  const hb = Buffer.concat(hs);
  const total = 12 + hb.length + payload.length + 4;
  const prelude = Buffer.alloc(8);
  prelude.writeUInt32BE(total, 0);
  prelude.writeUInt32BE(hb.length, 4);
  const pc = Buffer.alloc(4);
  pc.writeUInt32BE(crc32(prelude) >>> 0, 0);
  const body = Buffer.concat([prelude, pc, hb, payload]);
  const mc = Buffer.alloc(4);
  mc.writeUInt32BE(crc32(body) >>> 0, 0);
  return Buffer.concat([body, mc]);
}

function bedrock(p: Parsed, s: MockScript, res: Res, op: string, body: any): void {
  const text = s.finalText;
  const u = usage(p, text);
  const evt = (type: string, o: unknown) =>
    eventStreamMessage({ ':event-type': type, ':content-type': 'application/json', ':message-type': 'event' }, Buffer.from(JSON.stringify(o)));
  if (op === 'converse') {
    return send(res, 200, 'application/json', JSON.stringify({
      output: { message: { role: 'assistant', content: [{ text }] } }, stopReason: 'end_turn',
      usage: { inputTokens: u.input, outputTokens: u.output, totalTokens: u.input + u.output }, metrics: { latencyMs: 321 },
    }));
  }
  if (op === 'converse-stream') {
    res.writeHead(200, { 'content-type': 'application/vnd.amazon.eventstream' });
    res.write(evt('messageStart', { p: 'abc', role: 'assistant' }));
    for (const w of words(text)) res.write(evt('contentBlockDelta', { contentBlockIndex: 0, delta: { text: w }, p: 'abcd' }));
    res.write(evt('contentBlockStop', { contentBlockIndex: 0, p: 'ab' }));
    res.write(evt('messageStop', { p: 'abcdef', stopReason: 'end_turn' }));
    res.end(evt('metadata', { metrics: { latencyMs: 321 }, p: 'a', usage: { inputTokens: u.input, outputTokens: u.output, totalTokens: u.input + u.output } }));
    return;
  }
  // invoke / invoke-with-response-stream carry the provider's native body (Anthropic here).
  const msg = { id: `msg_bdrk_${randomUUID().slice(0, 8)}`, type: 'message', role: 'assistant', model: p.model, content: [{ type: 'text', text }], stop_reason: 'end_turn', stop_sequence: null, usage: { input_tokens: u.input, output_tokens: u.output } };
  if (op === 'invoke') return send(res, 200, 'application/json', JSON.stringify(msg));
  void body;
  res.writeHead(200, { 'content-type': 'application/vnd.amazon.eventstream' });
  const chunk = (o: unknown) => evt('chunk', { bytes: Buffer.from(JSON.stringify(o)).toString('base64'), p: 'ab' });
  res.write(chunk({ type: 'message_start', message: { ...msg, content: [], stop_reason: null, usage: { input_tokens: u.input, output_tokens: 1 } } }));
  res.write(chunk({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }));
  for (const w of words(text)) res.write(chunk({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: w } }));
  res.write(chunk({ type: 'content_block_stop', index: 0 }));
  res.write(chunk({ type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: u.output } }));
  res.end(chunk({ type: 'message_stop', 'amazon-bedrock-invocationMetrics': { inputTokenCount: u.input, outputTokenCount: u.output, invocationLatency: 321, firstByteLatency: 100 } }));
}

// --- MCP (real SDK server) -------------------------------------------------------------------------

function buildMcpServer(s: MockScript): McpServer {
  const server = new McpServer({ name: 'agentrail-mock-mcp', version: '1.4.2' });
  server.registerTool(
    'lookup_customer',
    { description: 'Look up a customer by email', inputSchema: { email: z.string(), include_orders: z.boolean().optional() } },
    async () => ({ content: [{ type: 'text', text: s.mcpToolText }] }),
  );
  server.registerResource('report', 'file:///reports/q3.txt', { mimeType: 'text/plain' }, async (uri) => ({
    contents: [{ uri: uri.href, text: 'Q3 report body' }],
  }));
  server.registerPrompt('summarize', { description: 'Summarize a document', argsSchema: { topic: z.string() } }, ({ topic }) => ({
    messages: [{ role: 'user', content: { type: 'text', text: `Summarize ${topic}` } }],
  }));
  return server;
}

// --- server --------------------------------------------------------------------------------------

export interface MockServer {
  port: number;
  script: MockScript;
  requests: Array<{ method: string; path: string; status: number }>;
  close(): Promise<void>;
}

export async function startMockServer(opts: {
  cert: string | Buffer;
  key: string | Buffer;
  port?: number;
  script?: Partial<MockScript>;
  /** Highest TLS version offered (e.g. 'TLSv1.2' to exercise a client's TLS 1.2 record layer). */
  maxVersion?: 'TLSv1.2' | 'TLSv1.3';
}): Promise<MockServer> {
  const script: MockScript = { ...defaultScript, ...opts.script };
  const requests: MockServer['requests'] = [];
  const mcpSessions = new Map<string, StreamableHTTPServerTransport>();
  const cert = typeof opts.cert === 'string' && !opts.cert.includes('BEGIN') ? readFileSync(opts.cert) : opts.cert;
  const key = typeof opts.key === 'string' && !opts.key.includes('BEGIN') ? readFileSync(opts.key) : opts.key;

  const handler = async (req: Req, res: Res) => {
    const chunks: Buffer[] = [];
    for await (const c of req as AsyncIterable<Buffer>) chunks.push(Buffer.from(c));
    const raw = Buffer.concat(chunks);
    const url = new URL(req.url ?? '/', 'https://mock.local');
    const path = url.pathname;
    let body: any;
    try {
      body = raw.length ? JSON.parse(raw.toString('utf8')) : undefined;
    } catch {
      body = undefined;
    }
    const record = (status: number) => requests.push({ method: req.method ?? '', path, status });

    if (path === '/mcp') {
      const sid = req.headers['mcp-session-id'] as string | undefined;
      let t = sid ? mcpSessions.get(sid) : undefined;
      if (!t) {
        t = new StreamableHTTPServerTransport({ sessionIdGenerator: () => randomUUID(), onsessioninitialized: (id) => void mcpSessions.set(id, t!) });
        await buildMcpServer(script).connect(t);
      }
      await t.handleRequest(req as IncomingMessage, res as unknown as ServerResponse, body);
      record(res.statusCode);
      return;
    }

    const { p, s } = scriptStep(inspect(body, path), script);
    if (script.failNext && script.failNext.count > 0 && path !== '/healthz') {
      script.failNext.count--;
      const st = script.failNext.status;
      record(st);
      const err = path.startsWith('/v1/messages')
        ? { type: 'error', error: { type: st === 429 ? 'rate_limit_error' : 'api_error', message: 'mock failure' } }
        : { error: { message: 'mock failure', type: st === 429 ? 'rate_limit_exceeded' : 'server_error', param: null, code: null } };
      res.writeHead(st, { 'content-type': 'application/json', 'retry-after': '0' });
      res.end(JSON.stringify(err));
      return;
    }
    let status = 200;
    if (/\/chat\/completions$/.test(path)) openaiChat(p, s, res);
    else if (/\/responses$/.test(path)) openaiResponses(p, s, res);
    else if (path === '/v1/messages') anthropicMessages(p, s, res);
    else if (/:generateContent$/.test(path)) gemini({ ...p, stream: false }, s, res, null);
    else if (/:streamGenerateContent$/.test(path)) gemini({ ...p, stream: true }, s, res, url.searchParams.get('alt'));
    else if (path === '/api/chat') ollamaChat(p, s, res);
    else if (/^\/model\/[^/]+\/converse-stream$/.test(path)) bedrock(p, s, res, 'converse-stream', body);
    else if (/^\/model\/[^/]+\/converse$/.test(path)) bedrock(p, s, res, 'converse', body);
    else if (/^\/model\/[^/]+\/invoke-with-response-stream$/.test(path)) bedrock(p, s, res, 'invoke-stream', body);
    else if (/^\/model\/[^/]+\/invoke$/.test(path)) bedrock(p, s, res, 'invoke', body);
    else if (path === '/healthz') send(res, 200, 'text/plain', 'ok');
    else if (path.startsWith('/tool/')) {
      // A plain (non-LLM) API an agent tool calls: echoes a JSON record.
      send(res, 200, 'application/json', JSON.stringify({ ok: true, path, rows: [{ id: 1 }, { id: 2 }, { id: 3 }] }));
    } else {
      status = 404;
      send(res, 404, 'application/json', JSON.stringify({ error: { message: 'not found', type: 'invalid_request_error' } }));
    }
    record(status);
  };

  const server = http2.createSecureServer({ cert, key, allowHTTP1: true, ...(opts.maxVersion ? { maxVersion: opts.maxVersion } : {}) }, (req, res) => {
    handler(req, res as unknown as Res).catch(() => {
      try {
        res.writeHead(500);
        res.end();
      } catch {
        /* already answered */
      }
    });
  });
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: true });
  server.on('upgrade', responsesWebSocket(wss, script, requests));
  await new Promise<void>((resolve) => server.listen(opts.port ?? 0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    script,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        for (const t of mcpSessions.values()) void t.close();
        for (const c of wss.clients) c.terminate();
        server.close(() => resolve());
        // http2 sessions keep the server open: end them.
        (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
        setTimeout(resolve, 500).unref();
      }),
  };
}

// Standalone mode: a separate process, so the test runner itself is never traced.
if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) {
  const arg = (n: string) => {
    const i = process.argv.indexOf(n);
    return i > 0 ? process.argv[i + 1] : undefined;
  };
  const cert = arg('--cert');
  const key = arg('--key');
  if (!cert || !key) {
    process.stderr.write('usage: llm-mock-server --cert FILE --key FILE [--port N] [--script JSON]\n');
    process.exit(2);
  }
  const scriptArg = arg('--script');
  startMockServer({ cert, key, port: Number(arg('--port') ?? 0), script: scriptArg ? JSON.parse(scriptArg) : {} }).then((s) => {
    process.stdout.write(JSON.stringify({ port: s.port }) + '\n');
    process.on('SIGTERM', () => void s.close().then(() => process.exit(0)));
  });
}
