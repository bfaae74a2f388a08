import test from 'node:test';
import assert from 'node:assert/strict';
import { Capture, httpRequest, httpResponse, run } from './capture.js';
import { deflater, frame } from './ws-frames.js';

const UPGRADE = httpRequest('GET', '/v1/responses', {
  Host: 'api.openai.test',
  Upgrade: 'websocket',
  Connection: 'Upgrade',
  'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
  'Sec-WebSocket-Version': '13',
  'Sec-WebSocket-Extensions': 'permessage-deflate; client_max_window_bits',
  Authorization: 'Bearer sk-canary-not-a-key',
});
const SWITCH = httpResponse(101, { Upgrade: 'websocket', Connection: 'Upgrade', 'Sec-WebSocket-Accept': 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=', 'Sec-WebSocket-Extensions': 'permessage-deflate' });

function turn(n: number): { create: string; events: string[]; text: string } {
  const text = `answer ${n} `;
  const events = [
    { type: 'response.created', response: { id: `resp_${n}`, model: 'gpt-5-codex', status: 'in_progress', output: [] } },
    { type: 'response.output_text.delta', delta: text.slice(0, 4) },
    { type: 'response.output_text.delta', delta: text.slice(4) },
    { type: 'response.output_item.done', item: { type: 'function_call', name: 'shell', call_id: `call_${n}`, arguments: '{"cmd":["ls"]}' } },
    {
      type: 'response.completed',
      response: {
        id: `resp_${n}`,
        model: 'gpt-5-codex',
        status: 'completed',
        output: [
          { type: 'message', role: 'assistant', content: [{ type: 'output_text', text }] },
          { type: 'function_call', name: 'shell', call_id: `call_${n}`, arguments: '{"cmd":["ls"]}' },
        ],
        usage: { input_tokens: 11 + n, output_tokens: 5 + n, total_tokens: 16 + 2 * n },
      },
    },
  ].map((e) => JSON.stringify(e));
  const create = JSON.stringify({ type: 'response.create', model: 'gpt-5-codex', instructions: 'be brief', input: [{ role: 'user', content: [{ type: 'input_text', text: `prompt ${n}` }] }], tools: [{ type: 'function', name: 'shell' }] });
  return { create, events, text };
}

test('Responses API over a WebSocket upgrade (deflated, fragmented, a frame in the 101 read) becomes model calls', async () => {
  const cz = deflater();
  const sz = deflater();
  const c = new Capture();
  // A server ping arrives in the same read as the 101 head: it belongs to the WebSocket.
  const evs = [...c.call(0, UPGRADE), ...c.call(1, Buffer.concat([SWITCH, frame(9, Buffer.alloc(0), { mask: false })]))];
  for (const n of [1, 2]) {
    const t = turn(n);
    const cw = await cz(t.create);
    evs.push(...c.call(0, Buffer.concat([frame(1, cw.subarray(0, 5), { fin: false, rsv1: true }), frame(0, cw.subarray(5))])));
    // Sequential: the server's deflate stream is shared across messages (context takeover).
    const server: Buffer[] = [];
    for (const e of t.events) server.push(frame(1, await sz(e), { rsv1: true, mask: false }));
    if (n === 1) evs.push(...c.split(1, Buffer.concat(server), [3, 40, 41]));
    else evs.push(...c.call(1, Buffer.concat([frame(9, Buffer.alloc(0), { mask: false }), ...server])));
  }
  const { xs, stage } = run(evs);
  const llm = xs.filter((x) => x.llm);
  assert.equal(llm.length, 2);
  for (const [i, x] of llm.entries()) {
    const n = i + 1;
    assert.equal(x.llm!.provider, 'openai');
    assert.equal(x.llm!.operation, 'responses');
    assert.equal(x.llm!.model, 'gpt-5-codex');
    assert.equal(x.llm!.stream, true);
    assert.equal(x.llm!.outputText, turn(n).text);
    assert.deepEqual(x.llm!.usage, { inputTokens: 11 + n, outputTokens: 5 + n });
    assert.deepEqual(x.llm!.toolsRequested.map((r) => [r.name, r.callId]), [['shell', `call_${n}`]]);
    assert.deepEqual(x.llm!.inputTexts.at(-1), { role: 'user', text: `prompt ${n}` });
    assert.equal(x.request?.path, '/v1/responses');
    assert.equal(x.incomplete, false);
  }
  const s = stage.stats();
  assert.deepEqual(s.errors, {});
  assert.equal(s.counts['websocket_sessions'], 1);
  assert.equal(s.counts['websocket_ping'], 2);
});

test('a WebSocket turn cut by the connection closing is delivered incomplete; a capture gap is counted', () => {
  const c = new Capture();
  const t = turn(1);
  const evs = [...c.call(0, UPGRADE), ...c.call(1, httpResponse(101, { Upgrade: 'websocket', Connection: 'Upgrade' })), ...c.call(0, frame(1, Buffer.from(t.create))), ...c.call(1, frame(1, Buffer.from(t.events[0]!), { mask: false }))];
  const { xs } = run(evs);
  const x = xs.find((e) => e.llm);
  assert.ok(x);
  assert.equal(x.incomplete, true);
  assert.equal(x.llm!.model, 'gpt-5-codex');
  const c2 = new Capture();
  const gapped = [...c2.call(0, UPGRADE), ...c2.call(1, httpResponse(101, { Upgrade: 'websocket' })), ...c2.call(0, frame(1, Buffer.alloc(9000, 120)), { dropChunk: 1 }), ...c2.call(0, frame(1, Buffer.from(t.create)))];
  const r = run(gapped);
  assert.equal(r.stage.stats().errors['protocol.ws_gap'], 1);
  assert.ok(!r.xs.some((e) => e.llm));
});
