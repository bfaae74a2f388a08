import test from 'node:test';
import assert from 'node:assert/strict';
import type { Exchange } from '../../src/contracts/exchange.js';
import type { RawEvent } from '../../src/contracts/raw-event.js';
import { Capture, pipeEvent, run } from './capture.js';
import { recordHttp, recordStdio } from './mcp-fixture.js';

const CLIENT = 100;
const SERVER = 101;

function checkMcp(xs: Exchange[]): void {
  const calls = xs.filter((x) => x.mcp && x.mcp.id !== null);
  const by = (m: string) => calls.filter((x) => x.mcp!.method === m).map((x) => x.mcp!);
  const init = by('initialize')[0]!;
  assert.deepEqual(init.clientInfo, { name: 'fixture-client', version: '1.2.3' });
  assert.deepEqual(init.serverInfo, { name: 'fixture-server', version: '9.8.7' });
  const list = by('tools/list')[0]!;
  assert.deepEqual((list.result as { tools: Array<{ name: string }> }).tools.map((t) => t.name), ['read_file']);
  const [ok, bad] = by('tools/call');
  assert.equal(ok!.toolName, 'read_file');
  assert.deepEqual(ok!.arguments, { path: '/etc/hosts' });
  assert.equal(ok!.resultText, 'contents of /etc/hosts');
  assert.notEqual(ok!.isError, true);
  assert.equal(ok!.resultBytes, Buffer.byteLength(JSON.stringify(ok!.result)));
  assert.equal(bad!.isError, true);
  assert.equal(bad!.resultText, 'permission denied');
  const rr = by('resources/read')[0]!;
  assert.equal(rr.resourceUri, 'file:///notes.txt');
  assert.equal(rr.resultText, 'note text');
  const pg = by('prompts/get')[0]!;
  assert.equal(pg.promptName, 'summarize');
  assert.equal(pg.resultText, 'Summarize cats');
  assert.ok(xs.some((x) => x.mcp?.method === 'notifications/initialized'));
}

test('MCP over stdio (SDK framing, both pipe ends traced): initialize, tools/list, tools/call, resources/read, prompts/get', async () => {
  const rec = await recordStdio();
  const ev: RawEvent[] = [];
  let t = 1000n;
  for (const r of rec) {
    const ino = BigInt(500 + r.pipe);
    const [writer, reader] = r.pipe === 0 ? [CLIENT, SERVER] : [SERVER, CLIENT];
    // The writer's write and the reader's read of the same bytes, split in two reads.
    ev.push(pipeEvent(writer, ino, 0, r.buf, (t += 10n)));
    const h = Math.floor(r.buf.length / 2);
    ev.push(pipeEvent(reader, ino, 1, r.buf.subarray(0, h), (t += 10n)), pipeEvent(reader, ino, 1, r.buf.subarray(h), (t += 10n)));
  }
  const { xs, stage } = run(ev);
  assert.deepEqual(stage.stats().errors, {});
  assert.ok(xs.every((x) => x.protocol === 'jsonrpc-stdio'));
  assert.ok(xs.every((x) => !x.incomplete));
  checkMcp(xs);
  assert.equal(xs.filter((x) => x.mcp?.id !== null).length, 6);
  assert.equal(xs.filter((x) => x.mcp?.id === null).length, 1);
});

test('MCP over stdio: only the reading client traced, many messages per read, one message across reads', async () => {
  const rec = await recordStdio();
  const up = Buffer.concat(rec.filter((r) => r.pipe === 0).map((r) => r.buf));
  const down = Buffer.concat(rec.filter((r) => r.pipe === 1).map((r) => r.buf));
  // Client writes everything at once (it would not, but the framing must not care), reads in 7-byte pieces.
  const ev: RawEvent[] = [pipeEvent(CLIENT, 1n, 0, up, 1n)];
  for (let i = 0; i < down.length; i += 7) ev.push(pipeEvent(CLIENT, 2n, 1, down.subarray(i, i + 7), BigInt(10 + i)));
  const { xs } = run(ev);
  checkMcp(xs);
});

test('MCP stdio over libuv socketpairs (each end its own inode, both processes traced): one exchange per call', async () => {
  const rec = await recordStdio();
  const ev: RawEvent[] = [];
  let t = 1000n;
  for (const r of rec) {
    // stdin pair: client end 600 (write), server end 601 (read); stdout pair: server end 603 (write), client end 602 (read).
    const [wIno, rIno, writer, reader] = r.pipe === 0 ? [600n, 601n, CLIENT, SERVER] : [603n, 602n, SERVER, CLIENT];
    ev.push(pipeEvent(writer, wIno, 0, r.buf, (t += 10n)), pipeEvent(reader, rIno, 1, r.buf, (t += 10n)));
  }
  const { xs, stage } = run(ev);
  assert.deepEqual(stage.stats().errors, {});
  checkMcp(xs);
  assert.equal(xs.filter((x) => x.mcp?.id !== null).length, 6);
  assert.equal(xs.filter((x) => x.mcp?.id === null).length, 1);
  assert.equal(stage.stats().counts.jsonrpc_callee_view_deduplicated, 6);
});

test('MCP stdio over one bidirectional socket per process; only the server traced', async () => {
  const rec = await recordStdio();
  const both: RawEvent[] = [];
  const serverOnly: RawEvent[] = [];
  let t = 1000n;
  for (const r of rec) {
    // Client socket end 700 carries its requests out and the answers in; server end 701 the reverse.
    const c = pipeEvent(CLIENT, 700n, r.pipe === 0 ? 0 : 1, r.buf, (t += 10n));
    const s = pipeEvent(SERVER, 701n, r.pipe === 0 ? 1 : 0, r.buf, (t += 10n));
    both.push(c, s);
    serverOnly.push(s);
  }
  for (const [ev, role] of [[both, 'client'], [serverOnly, 'server']] as const) {
    const { xs, stage } = run(ev);
    assert.ok(xs.filter((x) => x.mcp?.id !== null).every((x) => x.role === role));
    assert.deepEqual(stage.stats().errors, {});
    checkMcp(xs);
    assert.equal(xs.filter((x) => x.mcp?.id !== null).length, 6);
    assert.equal(xs.filter((x) => x.mcp?.id === null).length, 1);
  }
});

test('MCP stdio: garbage lines, unmatched responses and non-JSON pipes are counted, never thrown', () => {
  const ev = [
    pipeEvent(1, 9n, 0, Buffer.from('{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x"}}\n{not json}\n[1,2]\n'), 1n),
    pipeEvent(1, 10n, 1, Buffer.from('{"jsonrpc":"2.0","id":99,"result":{}}\n{"jsonrpc":"2.0","id":1,"error":{"code":-32601,"message":"nope"}}\n'), 2n),
    pipeEvent(1, 11n, 0, Buffer.from('plain text output of some command\n'), 3n),
  ];
  const { xs, stage } = run(ev);
  const e = stage.stats().errors;
  assert.equal(e['protocol.jsonrpc_bad_json'], 1);
  assert.equal(e['protocol.jsonrpc_invalid'], 2);
  assert.equal(e['protocol.jsonrpc_response_without_request'], 1);
  assert.equal(stage.stats().counts.pipes_not_jsonrpc, 1);
  const mcp = xs.filter((x) => x.protocol === 'jsonrpc-stdio');
  assert.equal(mcp.length, 1);
  assert.deepEqual(mcp[0]!.mcp?.error, { code: -32601, message: 'nope' });
  assert.equal(mcp[0]!.mcp?.isError, true);
  // The pipe that carried plain text is reported with its bytes (the event stage decides whether it joins an agent and a tool).
  assert.deepEqual(xs.filter((x) => x.protocol === 'pipe').map((x) => [x.stream.key, x.pipe?.[0]?.written.bytes]), [['pipe:11', 34]]);
});

for (const json of [true, false]) {
  test(`MCP over streamable HTTP (SDK client and server, ${json ? 'JSON' : 'SSE'} answers)`, async () => {
    const taps = await recordHttp(json);
    const xs: Exchange[] = [];
    const stage = run([]).stage;
    stage.onExchange((x) => xs.push(x));
    taps.forEach((tap, i) => {
      const c = new Capture(300, BigInt(i + 1), i + 3, 1 << 30);
      for (const e of tap.flatMap((t) => c.call(t.dir, t.buf))) stage.push(e);
    });
    stage.flush();
    assert.deepEqual(stage.stats().errors, {});
    const posts = xs.filter((x) => x.request?.method === 'POST');
    assert.ok(posts.every((x) => x.mcp !== undefined));
    if (!json) assert.ok(posts.some((x) => x.response?.sse !== undefined));
    assert.ok(posts.filter((x) => x.mcp!.method !== 'initialize').every((x) => x.request!.headers.some(([k, v]) => k === 'mcp-session-id' && v === 'sess-0001')));
    checkMcp(xs);
  });
}

test('JSON-RPC batch over HTTP: one exchange per request and notification, answers matched by id', () => {
  const body = JSON.stringify([
    { jsonrpc: '2.0', id: 'a', method: 'tools/call', params: { name: 'search', arguments: { q: 'x' } } },
    { jsonrpc: '2.0', method: 'notifications/progress', params: { progress: 1 } },
    { jsonrpc: '2.0', id: 7, method: 'resources/read', params: { uri: 'file:///a.txt' } },
  ]);
  const answer = JSON.stringify([
    { jsonrpc: '2.0', id: 7, result: { contents: [{ uri: 'file:///a.txt', text: 'AAA' }] } },
    { jsonrpc: '2.0', id: 'a', result: { content: [{ type: 'text', text: 'found' }], isError: false } },
  ]);
  const c = new Capture();
  const { xs } = run([
    ...c.call(0, Buffer.from(`POST /mcp HTTP/1.1\r\nHost: tools.local\r\nContent-Type: application/json\r\nMcp-Session-Id: s1\r\nContent-Length: ${body.length}\r\n\r\n${body}`)),
    ...c.call(1, Buffer.from(`HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${answer.length}\r\n\r\n${answer}`)),
  ]);
  assert.deepEqual(xs.map((x) => [x.mcp?.method, x.mcp?.id, x.mcp?.resultText]), [
    ['tools/call', 'a', 'found'],
    ['notifications/progress', null, undefined],
    ['resources/read', 7, 'AAA'],
  ]);
  assert.equal(xs[0]!.mcp?.toolName, 'search');
  assert.equal(xs[2]!.mcp?.resourceUri, 'file:///a.txt');
  assert.ok(xs.every((x) => x.request === xs[0]!.request));
});
