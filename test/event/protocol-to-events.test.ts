import { test } from 'node:test';
import { jcs } from '../../src/verify/jcs.js';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { setDeploymentKey } from '../../src/redact/keyed-hash.js';
import { expectedContentHash } from '../helpers/expected-hash.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsImport from 'ajv-formats';
import type { TlsData } from '../../src/contracts/raw-event.js';
import { ProtocolStage } from '../../src/protocol/protocol-stage.js';
import { repoRoot } from '../../src/paths.js';
import { loadFixtures, wire } from '../protocol/llm-wire.js';
import { d, harness } from './scenario.js';

// The deployment key this process hashes short content with; expected values are computed from it independently.
const KEY = randomBytes(32);
setDeploymentKey(KEY);

/** The protocol stage's real decoders feed the event stage: recorded LLM API exchanges → model.invocation events. */
function tls(pid: number, dir: 0 | 1, data: Buffer, t: bigint, seq: bigint): TlsData[] {
  const out: TlsData[] = [];
  for (let off = 0; off < data.length; off += 4096) {
    out.push({ kind: 'tls.data', op: 30, version: 1, ktimeNs: t + BigInt(off), pid, tid: pid, cgroupId: 1n, sslPtr: 0x7f0000001000n, direction: dir, callLen: data.length, chunkOffset: off, fd: 7, flags: 0, callSeq: seq, data: Buffer.from(data.subarray(off, off + 4096)) });
  }
  return out;
}

test('recorded LLM API captures → protocol stage → model.invocation events: model, usage, tools, output_hash, schema', () => {
  const ajv = new Ajv2020({ strict: true, allowUnionTypes: true });
  (addFormatsImport as unknown as (a: Ajv2020) => void)(ajv);
  const validate = ajv.compile(JSON.parse(readFileSync(join(repoRoot, 'schemas', 'model.invocation.json'), 'utf8')));
  const fixtures = loadFixtures();
  assert.ok(fixtures.length >= 10);
  for (const f of fixtures) {
    const { b, byType } = harness();
    const ps = new ProtocolStage();
    ps.onExchange((x) => b.onExchange(x));
    const { req, res } = wire(f);
    for (const ev of [...tls(4242, 0, req, 1_000_000n, 1n), ...tls(4242, 1, res, 9_000_000n, 2n)]) ps.push(ev);
    ps.flush();
    b.flush();
    const m = byType('model.invocation');
    assert.equal(m.length, 1, `${f.name}: one model invocation`);
    const e = d(m[0]);
    const x = f.expect as { model: string; outputText: string; usage?: { inputTokens?: number; outputTokens?: number }; toolsRequested: Array<{ name: string }>; error?: unknown };
    assert.ok(validate(JSON.parse(JSON.stringify(m[0]))), `${f.name}: ${JSON.stringify(validate.errors)}`);
    assert.equal(e.model_id, x.model, f.name);
    // docs/events.md "Hashes": recomputed here with the verifier's own RFC 8785 implementation.
    const sha = (t: string) => expectedContentHash(t, KEY);
    const xt = x as unknown as { toolsRequested: Array<{ name: string; arguments: unknown }> };
    assert.equal(e.output_text_hash, x.outputText ? sha(x.outputText) : null, f.name);
    const whole = xt.toolsRequested.length ? sha(jcs({ text: x.outputText, tool_calls: xt.toolsRequested.map((t) => ({ name: t.name, arguments: JSON.stringify(t.arguments) })) })) : x.outputText ? sha(x.outputText) : null;
    assert.equal(e.output_hash, whole, f.name);
    assert.notEqual(e.output_hash, sha(''), `${f.name}: never the hash of an empty string`);
    assert.deepEqual(e.tools_requested.map((t: { arguments_hash: string }) => t.arguments_hash), xt.toolsRequested.map((t) => sha(JSON.stringify(t.arguments))), f.name);
    if (x.usage?.inputTokens !== undefined) assert.equal(e.prompt_token_count, x.usage.inputTokens, f.name);
    if (x.usage?.outputTokens !== undefined) assert.equal(e.output_token_count, x.usage.outputTokens, f.name);
    assert.deepEqual(e.tools_requested.map((t: { name: string }) => t.name), x.toolsRequested.map((t) => t.name), f.name);
    if (x.error) {
      assert.equal(e.outcome.status, 'FAILURE', f.name);
      assert.ok(byType('error').some((er) => d(er).originating_event_id === e.event_id), `${f.name}: error event`);
    }
  }
});

test('MCP over stdio (real SDK bytes) → protocol stage → tool invocations with server version, errors, resource reads', async () => {
  const { recordStdio } = await import('../protocol/mcp-fixture.js');
  const { exec, fork } = await import('./scenario.js');
  const rec = await recordStdio();
  const { b, byType } = harness();
  const ps = new ProtocolStage();
  ps.onExchange((x) => b.onExchange(x));
  b.onRaw(exec(100, 1, 0, '/usr/bin/node', ['node', 'agent.js']));
  b.onRaw(fork(100, 101, 0));
  b.onRaw(exec(101, 100, 0, '/usr/bin/node', ['node', 'server.js']));
  let t = 1_000_000n;
  for (const r of rec) {
    const ino = BigInt(500 + r.pipe);
    const [writer, reader] = r.pipe === 0 ? [100, 101] : [101, 100];
    for (const [pid, dir] of [[writer, 0], [reader, 1]] as const) {
      t += 10_000n;
      ps.push({ kind: 'pipe.data', op: 40, version: 1, ktimeNs: t, pid, tid: pid, cgroupId: 1n, pipeIno: ino, fd: dir === 0 ? 1 : 0, direction: dir, callLen: r.buf.length, chunkOffset: 0, flags: 0, data: Buffer.from(r.buf) });
    }
  }
  ps.flush();
  b.flush();
  const tools = byType('tool.invocation').map(d);
  assert.equal(tools.length, 2);
  for (const tl of tools) {
    assert.equal(tl.tool_name, 'read_file');
    assert.equal(tl.tool_version, '9.8.7');
    assert.deepEqual(tl.mcp_server, { name: 'fixture-server', version: '9.8.7' });
    assert.deepEqual(tl.param_schema, { type: 'object', properties: { path: { type: 'string', format: 'path' } } });
  }
  assert.deepEqual(tools.map((x) => x.return_status).sort(), ['error', 'success']);
  const ok = tools.find((x) => x.return_status === 'success')!;
  assert.equal(ok.return_hash, expectedContentHash('contents of /etc/hosts', KEY));
  const bad = tools.find((x) => x.return_status === 'error')!;
  assert.ok(byType('error').map(d).some((e) => e.error_class === 'tool_error' && e.originating_event_id === bad.event_id));
  const acc = byType('data.access').map(d);
  const notes = acc.find((a) => a.resource_type === 'mcp_resource')!;
  assert.equal(notes.resource_uri, 'file:///notes.txt');
  assert.equal(notes.content_hash, expectedContentHash('note text', KEY));
  assert.ok(acc.some((a) => a.resource_uri === 'mcp-prompt:summarize'));

  // Both directions hashed as the peer saw them: the exact JSON-RPC lines, derived here from the recorded bytes.
  const linesOf = (pipe: number) =>
    Buffer.concat(rec.filter((r) => r.pipe === pipe).map((r) => Buffer.from(r.buf)))
      .toString('utf8')
      .split('\n')
      .filter((l) => l.trim());
  const calls = linesOf(0).filter((l) => (JSON.parse(l) as { method?: string }).method === 'tools/call');
  const ids = new Set(calls.map((l) => JSON.stringify((JSON.parse(l) as { id: unknown }).id)));
  const replies = linesOf(1).filter((l) => ids.has(JSON.stringify((JSON.parse(l) as { id?: unknown }).id)) && !('method' in (JSON.parse(l) as object)));
  assert.equal(calls.length, 2);
  assert.equal(replies.length, 2);
  const sha = (l: string) => expectedContentHash(l, KEY);
  assert.deepEqual(tools.map((x) => x.request_hash).sort(), calls.map(sha).sort());
  assert.deepEqual(tools.map((x) => x.response_hash).sort(), replies.map(sha).sort());
  assert.deepEqual(tools.map((x) => x.request_bytes).sort(), calls.map((l) => Buffer.byteLength(l)).sort());
  const readLine = linesOf(0).find((l) => (JSON.parse(l) as { method?: string }).method === 'resources/read')!;
  assert.equal(notes.request_hash, sha(readLine));
});
