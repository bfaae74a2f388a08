import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalBytes } from '../../src/seal/canonical.js';
import { d, exec, harness, httpExchange, llmExchange, mcpExchange } from './scenario.js';

const LONE = 'read\ud800file';

test('a lone surrogate in a tool name, model id or MCP server name keeps the event, sealable, with U+FFFD', () => {
  const { b, events, byType } = harness();
  b.onRaw(exec(300, 1, 1, '/usr/bin/node', ['node', 'agent.js']));
  b.onExchange(llmExchange(300, 10, 5, { model: `gpt\udfff-x`, toolsOffered: [LONE], toolsRequested: [{ callId: 'c1', name: LONE, arguments: { 'p\ud800ath': '/tmp/x' } }] }));
  b.onExchange(mcpExchange(300, 30, 5, { method: 'initialize', serverInfo: { name: 'srv\udbff', version: '1' }, result: {} }));
  b.onExchange(mcpExchange(300, 40, 5, { method: 'tools/call', toolName: LONE, arguments: { q: 1 }, result: { content: [] } }));
  b.flush();
  for (const e of events) assert.doesNotThrow(() => canonicalBytes(e), e.type);
  const model = byType('model.invocation')[0];
  assert.ok(model, 'the model call is an event, not a gap');
  assert.equal(d(model).model_id, 'gpt\ufffd-x');
  const tool = byType('tool.invocation').find((e) => String(d(e).tool_name).startsWith('read'));
  assert.ok(tool, 'the tool call is an event');
  assert.equal(d(tool).tool_name, 'read\ufffdfile');
});

test('a malformed percent-encoding in a resource URI keeps the exchange and marks the URI', () => {
  const { b, byType } = harness();
  b.onRaw(exec(301, 1, 1, '/usr/bin/node', ['node', 'agent.js']));
  b.onExchange(mcpExchange(301, 10, 5, { method: 'resources/read', resourceUri: 'file:///%zz/secret', result: { contents: [{ uri: 'file:///%zz/secret', text: 'hello' }] } }));
  b.onExchange(httpExchange(301, 20, 5, { method: 'GET', path: '/a/%zz%/b?x=%', authority: 'files.example.test' }, { status: 200, body: 'ok' }));
  b.flush();
  const uris = byType('data.access').map((e) => String(d(e).resource_uri));
  assert.ok(uris.some((u) => u.includes('files.example.test')), `HTTP access kept: ${uris.join(', ')}`);
  const res = uris.find((u) => u.startsWith('file:') && u.includes('secret'));
  assert.ok(res, `MCP resource kept: ${uris.join(', ')}`);
  assert.ok(res.endsWith('#~malformed-percent-encoding'), res);
});
