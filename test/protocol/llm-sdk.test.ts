import test from 'node:test';
import assert from 'node:assert/strict';
import type http from 'node:http';
import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';
import { Capture, run } from './capture.js';
import { type LlmFixture, loadFixtures, responsePieces } from './llm-wire.js';
import { tappedHttpServer } from './tap.js';
import type { Exchange } from '../../src/contracts/exchange.js';

/**
 * The official SDKs are the clients: the bytes they send and receive are
 * captured on the wire, decoded, and the decoded output text and tool calls
 * must equal what the SDK hands to its caller.
 */
const fixtures = new Map(loadFixtures().map((f) => [f.name, f]));

function serve(f: LlmFixture): http.RequestListener {
  return (req, res) => {
    req.resume();
    req.on('end', () => {
      const pieces = responsePieces(f.response);
      res.writeHead(f.response.status, f.response.headers);
      for (const p of pieces) res.write(p);
      res.end();
    });
  };
}

async function capture<T>(name: string, call: (baseURL: string) => Promise<T>): Promise<{ result: T; x: Exchange }> {
  const f = fixtures.get(name)!;
  const srv = await tappedHttpServer(serve(f));
  try {
    const result = await call(`http://127.0.0.1:${srv.port}`);
    await new Promise((r) => setTimeout(r, 30));
    const c = new Capture(3, 3n, 3, 1 << 30);
    const { xs, stage } = run(srv.taps.flatMap((tap) => tap.flatMap((t) => c.call(t.dir, t.buf))));
    assert.deepEqual(stage.stats().errors, {});
    assert.equal(xs.length, 1);
    return { result, x: xs[0]! };
  } finally {
    await srv.close();
  }
}

const req = (name: string) => fixtures.get(name)!.request.json as never;

test('openai SDK chat.completions.create (JSON): decoded output equals message.content and tool calls', async () => {
  const { result, x } = await capture('openai-chat', (u) => new OpenAI({ baseURL: `${u}/v1`, apiKey: 'sk-test', maxRetries: 0 }).chat.completions.create(req('openai-chat')));
  const msg = result.choices[0]!.message;
  assert.equal(x.llm?.outputText, msg.content);
  assert.deepEqual(x.llm?.toolsRequested, (msg.tool_calls ?? []).map((t) => ({ name: t.type === 'function' ? t.function.name : '', callId: t.id, arguments: JSON.parse(t.type === 'function' ? t.function.arguments : '{}'), argumentsText: t.type === 'function' ? t.function.arguments : '' })));
  assert.equal(x.llm?.usage?.inputTokens, result.usage?.prompt_tokens);
});

test('openai SDK chat.completions.stream: decoded output equals finalChatCompletion', async () => {
  const { result, x } = await capture('openai-chat-stream', async (u) => {
    const { stream: _s, ...params } = fixtures.get('openai-chat-stream')!.request.json;
    const s = new OpenAI({ baseURL: `${u}/v1`, apiKey: 'sk-test', maxRetries: 0 }).chat.completions.stream(params as never);
    return s.finalChatCompletion();
  });
  const msg = result.choices[0]!.message;
  assert.equal(x.llm?.stream, true);
  assert.equal(x.llm?.outputText, msg.content);
  assert.deepEqual(x.llm?.toolsRequested.map((t) => [t.name, t.callId, t.arguments]), (msg.tool_calls ?? []).map((t) => [t.type === 'function' ? t.function.name : '', t.id, JSON.parse(t.type === 'function' ? t.function.arguments : '')]));
});

test('openai SDK responses.create (JSON and stream): decoded output equals output_text', async () => {
  const a = await capture('openai-responses', (u) => new OpenAI({ baseURL: `${u}/v1`, apiKey: 'sk-test', maxRetries: 0 }).responses.create(req('openai-responses')));
  assert.equal(a.x.llm?.outputText, a.result.output_text);
  const b = await capture('openai-responses-stream', async (u) => {
    const { stream: _s, ...params } = fixtures.get('openai-responses-stream')!.request.json;
    return new OpenAI({ baseURL: `${u}/v1`, apiKey: 'sk-test', maxRetries: 0 }).responses.stream(params as never).finalResponse();
  });
  assert.equal(b.x.llm?.outputText, b.result.output_text);
});

test('anthropic SDK messages.create and messages.stream: decoded output equals the text blocks, tool_use input equals the parsed input', async () => {
  const text = (m: Anthropic.Message) => m.content.filter((b) => b.type === 'text').map((b) => (b as Anthropic.TextBlock).text).join('');
  const tools = (m: Anthropic.Message) => m.content.filter((b) => b.type === 'tool_use').map((b) => [(b as Anthropic.ToolUseBlock).name, (b as Anthropic.ToolUseBlock).id, (b as Anthropic.ToolUseBlock).input]);
  const a = await capture('anthropic-messages', (u) => new Anthropic({ baseURL: u, apiKey: 'sk-ant-test', maxRetries: 0 }).messages.create(req('anthropic-messages')));
  assert.equal(a.x.llm?.outputText, text(a.result));
  assert.deepEqual(a.x.llm?.toolsRequested.map((t) => [t.name, t.callId, t.arguments]), tools(a.result));
  const b = await capture('anthropic-messages-stream', async (u) => {
    const { stream: _s, ...params } = fixtures.get('anthropic-messages-stream')!.request.json;
    return new Anthropic({ baseURL: u, apiKey: 'sk-ant-test', maxRetries: 0 }).messages.stream(params as never).finalMessage();
  });
  assert.equal(b.x.llm?.outputText, text(b.result));
  assert.deepEqual(b.x.llm?.toolsRequested.map((t) => [t.name, t.callId, t.arguments]), tools(b.result));
  assert.equal(b.x.llm?.usage?.outputTokens, b.result.usage.output_tokens);
  assert.equal(b.x.llm?.model, b.result.model);
});
