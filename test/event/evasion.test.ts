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

test('server-controlled names are bounded, charset-checked and run through the detectors', () => {
  const KEY = 'sk-proj-' + 'Q7vX2mN9pL4kR8sT1wY6zB3cD5fG0hJ'.repeat(2);
  const { b, events, byType } = harness();
  b.onRaw(exec(302, 1, 1, '/usr/bin/node', ['node', 'agent.js']));
  b.onExchange(
    llmExchange(302, 10, 5, {
      model: `gpt-4o\n{"type":"dev.agentrail.data.access"}`,
      finishReason: KEY,
      toolsOffered: ['x'.repeat(5000), `leak_${KEY}`],
      toolsRequested: [{ callId: 'c9', name: 'run<script>alert(1)</script>', arguments: { [`k_${KEY}`]: 1, 'a\u0000b': 2 } }],
      error: { status: 500, type: `overloaded ${KEY}` },
    }),
  );
  b.onExchange(mcpExchange(302, 30, 5, { method: 'initialize', serverInfo: { name: `srv ${KEY}`, version: '1' }, result: {} }));
  b.flush();
  const all = JSON.stringify(events);
  assert.ok(!all.includes(KEY), 'no API key reaches the trail through a name');
  assert.ok(!all.includes('<script>'), 'no markup');
  const m = d(byType('model.invocation')[0]);
  assert.ok(!String(m.model_id).includes('\n'), 'no line break in a model id');
  assert.ok(m.tools_offered.every((n: string) => n.length <= 160), 'offered tool names are bounded');
  assert.match(String(m.finish_reason), /^~h:[0-9a-f]{16}$/);
  const keys = Object.keys(m.tools_requested[0].param_schema.properties);
  assert.ok(keys.every((k: string) => k.startsWith('~key:')), `argument names hashed: ${keys.join(', ')}`);
  const err = byType('error').map((e) => String(d(e).error_class));
  assert.ok(err.every((c) => !c.includes('sk-proj')), err.join(', '));
});

test('bounded state: the hold-back queue releases its oldest early past its cap (never drops), counted', async () => {
  const { stageErrors } = await import('../../src/observability/metrics.js');
  const count = async () => (await stageErrors.get()).values.find((v) => v.labels.reason === 'holdback_queue_full')?.value ?? 0;
  const before = await count();
  const { b, byType } = harness({ holdbackMs: 3_600_000 });
  b.onRaw(exec(303, 1, 1, '/usr/bin/node', ['node', 'agent.js']));
  const N = 200_010;
  for (let i = 0; i < N; i++) b.onExchange(httpExchange(303, 10 + i, 1, { method: 'GET', path: `/r/${i}`, authority: 'api.example.test' }, { status: 200, body: 'x' }));
  assert.ok((await count()) - before >= 10, 'the cap was hit and counted');
  assert.ok(byType('data.access').length >= 10, 'the oldest were released early, not lost');
  b.flush();
  assert.equal(byType('data.access').filter((e) => String(d(e).resource_uri).includes('api.example.test')).length, N, 'every access is still an event');
});

test('bounded state: a peer announcing a huge HPACK table is clamped and counted', async () => {
  const { HpackDecoder, HPACK_TABLE_CAP } = await import('../../src/protocol/http2/hpack.js');
  const { drops } = await import('../../src/observability/metrics.js');
  const dec = new HpackDecoder();
  dec.setProtocolMaxSize(1 << 30);
  // A size update to 1 MiB is now refused (the connection's decode fails, counted), not honoured.
  const upd = Buffer.from([0x3f, 0xe1, 0xff, 0x3f]); // dynamic table size update, 5-bit prefix, value 1,048,576
  assert.throws(() => dec.decode(upd), (e: unknown) => (e as { reason?: string }).reason === 'size_update_too_large');
  assert.ok(HPACK_TABLE_CAP <= 64 * 1024);
  assert.ok((await drops.get()).values.some((v) => v.labels.reason === 'hpack_table_clamped'));
});
