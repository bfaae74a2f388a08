/**
 * A model call whose request was cut by the kernel capture cap is still an
 * LLM call (src/protocol/llm/partial.ts): provider by path, model from the
 * captured prefix or, when the prefix lacks it, from the answer; no prompt
 * pieces; the request's true size.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Capture, httpRequest, httpResponse, run } from './capture.js';

const CAP = 4096;
const sse = (events: object[]) => events.map((e) => `event: ${(e as { type: string }).type}\ndata: ${JSON.stringify(e)}\n\n`).join('');

test('Anthropic Messages over SSE, model after the messages (not in the captured prefix): model from message_start', () => {
  const c = new Capture(1, 1n, 1, CAP);
  const body = JSON.stringify({ messages: [{ role: 'user', content: 'q'.repeat(20_000) }], model: 'claude-sonnet-4-6', stream: true, max_tokens: 10 });
  const answer = sse([
    { type: 'message_start', message: { id: 'm', type: 'message', role: 'assistant', model: 'claude-sonnet-4-6', content: [], usage: { input_tokens: 5000, output_tokens: 1 } } },
    { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } },
    { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'hello there' } },
    { type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage: { output_tokens: 2 } },
    { type: 'message_stop' },
  ]);
  const { xs, stage } = run([
    ...c.call(0, httpRequest('POST', '/v1/messages', { Host: 'api.anthropic.com', 'content-type': 'application/json', 'anthropic-version': '2023-06-01' }, body)),
    ...c.call(1, httpResponse(200, { 'content-type': 'text/event-stream' }, answer)),
  ], { tlsCaptureCap: CAP });
  assert.equal(xs.length, 1);
  const llm = xs[0]!.llm!;
  assert.ok(llm, 'still an LLM call');
  assert.deepEqual([llm.provider, llm.operation, llm.model, llm.inputComplete, llm.outputText], ['anthropic', 'messages', 'claude-sonnet-4-6', false, 'hello there']);
  assert.equal(llm.inputTexts.length, 0, 'no prompt pieces from a cut body');
  assert.equal(llm.inputWireBytes, Buffer.byteLength(body), 'the true request body size');
  assert.equal(stage.stats().drops['protocol.llm_input_incomplete'], 1, 'counted');
});

test('a cut body on a path that is no model API stays a plain exchange', () => {
  const c = new Capture(1, 1n, 1, CAP);
  const { xs } = run([
    ...c.call(0, httpRequest('POST', '/upload', { Host: 'h', 'content-type': 'application/json' }, JSON.stringify({ model: 'x', data: 'z'.repeat(10_000) }))),
    ...c.call(1, httpResponse(200, {}, 'ok')),
  ], { tlsCaptureCap: CAP });
  assert.equal(xs.length, 1);
  assert.equal(xs[0]!.llm, undefined);
  assert.equal(xs[0]!.request!.truncated, true);
});
