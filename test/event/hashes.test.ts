import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { setDeploymentKey } from '../../src/redact/keyed-hash.js';
import { expectedContentHash, plainSha256 } from '../helpers/expected-hash.js';
import { d, exec, harness, httpExchange, llmExchange } from './scenario.js';

const KEY = randomBytes(32);
setDeploymentKey(KEY);
const sha = (b: string | Buffer) => expectedContentHash(b, KEY);

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

test('short content (under 64 bytes) is keyed, so a guess without the deployment key confirms nothing; 64 bytes and up stay plain SHA-256', () => {
  const { b, byType } = harness();
  b.onRaw(exec(402, 1, 1, '/usr/bin/node', ['node', 'agent.js']));
  const short = 'The report shows steady growth.';
  const edge63 = 'x'.repeat(63);
  const edge64 = 'y'.repeat(64);
  b.onExchange(llmExchange(402, 10, 5, { outputText: short, reasoningText: 'Read it.', toolsRequested: [{ callId: 'c9', name: 'ls', arguments: {}, argumentsText: '{}' }] }));
  b.onExchange(llmExchange(402, 30, 5, { outputText: edge63 }));
  b.onExchange(llmExchange(402, 50, 5, { outputText: edge64 }));
  b.onExchange(httpExchange(402, 70, 5, { method: 'POST', path: '/u', authority: 'drop.example.test', body: 'pw=hunter2' }, { status: 200, body: '{"ok":true}' }));
  b.flush();
  const [withCall, m63, m64] = byType('model.invocation').map(d);
  assert.ok(withCall && m63 && m64);
  assert.equal(withCall.output_text_hash, sha(short));
  assert.match(withCall.output_text_hash, /^hmac-sha256:[0-9a-f]{64}$/);
  assert.notEqual(withCall.output_text_hash, plainSha256(short), 'a plain SHA-256 guess of the answer matches nothing');
  assert.equal(withCall.tools_requested[0].arguments_hash, sha('{}'));
  assert.match(withCall.tools_requested[0].arguments_hash, /^hmac-sha256:/);
  assert.equal(withCall.output_hash, sha(`{"text":${JSON.stringify(short)},"tool_calls":[{"arguments":"{}","name":"ls"}]}`), 'the whole output is 70 bytes: plain');
  assert.match(withCall.output_hash, /^sha256:/);
  assert.equal(withCall.reasoning.hash, sha('Read it.'));
  assert.match(withCall.reasoning.hash, /^hmac-sha256:/);
  assert.equal(m63.output_hash, sha(edge63));
  assert.match(m63.output_hash, /^hmac-sha256:/);
  assert.equal(m64.output_hash, plainSha256(edge64), '64 bytes: plain SHA-256, recomputable without the key');
  const up = byType('data.access').map(d).find((x) => String(x.resource_uri).includes('drop.example.test'));
  assert.ok(up);
  assert.equal(up.request_hash, sha('pw=hunter2'));
  assert.notEqual(up.request_hash, plainSha256('pw=hunter2'));
  assert.equal(up.response_hash, sha('{"ok":true}'));
});
