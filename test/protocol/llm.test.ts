import test from 'node:test';
import assert from 'node:assert/strict';
import { Capture, run } from './capture.js';
import { loadFixtures, wire } from './llm-wire.js';

const fixtures = loadFixtures();

test('a fixture exists for every LLM API in JSON and streaming form', () => {
  const names = fixtures.map((f) => f.name);
  for (const n of ['openai-chat', 'openai-chat-stream', 'openai-responses', 'openai-responses-stream', 'azure-openai-chat', 'anthropic-messages', 'anthropic-messages-stream', 'gemini-generate', 'gemini-stream', 'bedrock-converse', 'bedrock-converse-stream', 'bedrock-invoke', 'bedrock-invoke-stream', 'ollama-chat', 'ollama-chat-stream'])
    assert.ok(names.includes(n), n);
});

for (const f of fixtures) {
  test(`LLM fixture ${f.name}: model, usage, tools, output text (response split at several points)`, () => {
    const { req, res } = wire(f);
    for (const cuts of [[], [1], [Math.floor(res.length / 3), Math.floor(res.length / 2) + 1], Array.from({ length: 40 }, (_, i) => Math.floor((res.length * i) / 40) + 3)]) {
      const c = new Capture(9, 9n, 9, 1 << 30);
      const { xs, stage } = run([...c.split(0, req, [17]), ...c.split(1, res, cuts)]);
      assert.deepEqual(stage.stats().errors, {});
      assert.equal(xs.length, 1);
      const llm = xs[0]!.llm;
      assert.ok(llm, 'recognised as an LLM call');
      // argumentsText (the exact string an API returned) is checked against the real SDK in llm-sdk.test.ts;
      // here it must at least parse to the decoded arguments.
      for (const t of llm.toolsRequested) if (t.argumentsText !== undefined) assert.deepEqual(JSON.parse(t.argumentsText), t.arguments);
      const got = { ...llm, toolsRequested: llm.toolsRequested.map(({ argumentsText: _a, ...t }) => t) };
      for (const [k, v] of Object.entries(f.expect)) assert.deepEqual((got as unknown as Record<string, unknown>)[k], v, `${f.name}: ${k}`);
      if (!('toolsOffered' in f.expect)) assert.deepEqual(llm.toolsOffered, []);
      assert.ok(llm.inputTexts.length > 0);
    }
  });
}

test('recognition needs path AND body shape: a non-LLM JSON POST and a GET on an LLM path are not LLM calls', () => {
  const c = new Capture();
  const mk = (m: string, p: string, body: string) => Buffer.from(`${m} ${p} HTTP/1.1\r\nhost: api.openai.com\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
  const ok = Buffer.from('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}');
  const { xs } = run([
    ...c.call(0, mk('POST', '/v1/chat/completions', '{"not":"a chat"}')), ...c.call(1, ok),
    ...c.call(0, mk('GET', '/v1/models', '')), ...c.call(1, ok),
    ...c.call(0, mk('POST', '/v1/files', '{"messages":[]}')), ...c.call(1, ok),
  ]);
  assert.equal(xs.length, 3);
  assert.ok(xs.every((x) => x.llm === undefined));
});

test('an OpenAI-compatible gateway on any host (LiteLLM / vLLM path) is recognised by path and body', () => {
  const f = fixtures.find((x) => x.name === 'openai-chat')!;
  const g = { ...f, request: { ...f.request, host: 'litellm.corp.internal:4000', path: '/chat/completions' } };
  const w = wire(g);
  const c = new Capture();
  const { xs } = run([...c.call(0, w.req), ...c.call(1, w.res)]);
  assert.equal(xs[0]!.llm?.provider, 'openai');
  assert.equal(xs[0]!.llm?.outputText, 'Let me check Paris.');
});

test('Gemini on Vertex AI paths is recognised', () => {
  const f = fixtures.find((x) => x.name === 'gemini-generate')!;
  const v = { ...f, request: { ...f.request, host: 'us-central1-aiplatform.googleapis.com', path: '/v1/projects/p1/locations/us-central1/publishers/google/models/gemini-2.0-flash:generateContent' } };
  const w = wire(v);
  const c = new Capture();
  const { xs } = run([...c.call(0, w.req), ...c.call(1, w.res)]);
  assert.equal(xs[0]!.llm?.provider, 'gemini');
  assert.equal(xs[0]!.llm?.outputText, 'Sure, switching on.');
});
