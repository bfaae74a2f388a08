import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { RawEvent } from '../../src/contracts/raw-event.js';
import { setDeploymentKey } from '../../src/redact/keyed-hash.js';
import { expectedContentHash } from '../helpers/expected-hash.js';
import { pipeEvent, run } from '../protocol/capture.js';
import { d, exec, fork, harness } from './scenario.js';

const KEY = randomBytes(32);
setDeploymentKey(KEY);
const ms = (n: number) => BigInt(n) * 1_000_000n;

test('pipes between an agent and its tool: one data.access of the agent end per pipe, request/response hashes of the exact bytes, true counts when cut', () => {
  const request = 'translate this request for the tool into upper case please, all of it\n';
  const answer = 'DONE\n';
  const cut = Buffer.alloc(10_000, 'x');
  const raw: RawEvent[] = [
    // Real pipes: the agent (500) writes the tool's stdin (ino 77), reads its stdout (ino 78).
    pipeEvent(500, 77n, 0, Buffer.from(request), ms(20)),
    pipeEvent(501, 77n, 1, Buffer.from(request), ms(21)),
    pipeEvent(501, 78n, 0, Buffer.from(answer), ms(22)),
    pipeEvent(500, 78n, 1, Buffer.from(answer), ms(23)),
    // A write above the capture cap on ino 79: 100 of 10,000 bytes captured, by both ends.
    { ...pipeEvent(500, 79n, 0, cut.subarray(0, 100), ms(24)), callLen: 10_000, flags: 1 },
    { ...pipeEvent(501, 79n, 1, cut.subarray(0, 100), ms(25)), callLen: 10_000, flags: 1 },
    // JSON-RPC (MCP over stdio) is a tool.invocation, not a pipe access.
    pipeEvent(500, 80n, 0, Buffer.from('{"jsonrpc":"2.0","id":1,"method":"ping"}\n'), ms(26)),
    pipeEvent(501, 80n, 1, Buffer.from('{"jsonrpc":"2.0","id":1,"method":"ping"}\n'), ms(27)),
    // A pipe only the agent touched (libuv's signal pipe): not an exchange with a tool.
    pipeEvent(500, 81n, 0, Buffer.from('\x11'), ms(28)),
    pipeEvent(500, 81n, 1, Buffer.from('\x11'), ms(29)),
  ];
  const { xs } = run(raw);
  const { b, byType } = harness();
  b.onRaw(exec(500, 1, 1, '/usr/bin/node', ['node', 'agent.js']));
  b.onRaw(fork(500, 501, 2));
  b.onRaw(exec(501, 500, 3, '/usr/bin/tr', ['tr', 'a-z', 'A-Z']));
  for (const x of xs) b.onExchange(x);
  b.flush();
  const pipes = byType('data.access').map(d).filter((e) => e.resource_type === 'pipe');
  assert.deepEqual(pipes.map((e) => e.resource_uri).sort(), ['pipe:77', 'pipe:78', 'pipe:79']);
  for (const e of pipes) assert.equal(e.process.pid, 500, `${e.resource_uri}: the agent's end (the tool's ancestor)`);
  const of = (uri: string) => pipes.find((e) => e.resource_uri === uri)!;
  assert.equal(of('pipe:77').access_mode, 'write');
  assert.equal(of('pipe:77').bytes_written, Buffer.byteLength(request));
  assert.equal(of('pipe:77').request_hash, expectedContentHash(request, KEY));
  assert.match(of('pipe:77').request_hash, /^sha256:/);
  assert.equal(of('pipe:77').response_hash, null);
  assert.equal(of('pipe:78').access_mode, 'read');
  assert.equal(of('pipe:78').bytes_read, Buffer.byteLength(answer));
  assert.equal(of('pipe:78').response_hash, expectedContentHash(answer, KEY));
  assert.match(of('pipe:78').response_hash, /^hmac-sha256:/, 'a short answer is keyed');
  assert.equal(of('pipe:78').content_hash, of('pipe:78').response_hash);
  assert.equal(of('pipe:79').bytes_written, 10_000, 'the true size of a cut write');
  assert.equal(of('pipe:79').request_hash, null, 'never the hash of a part standing for the whole');
  assert.ok(!JSON.stringify(pipes).includes('translate this'), 'no plaintext');
  assert.ok(xs.every((x) => x.pipe === undefined || x.pipe.every((s) => s.written.head.every((c) => c === 0) && s.read.head.every((c) => c === 0))), 'first bytes zero-filled once built');
});

test('a socketpair end stays a conversation however many other sockets close before its stream does', async () => {
  const { createAnalysis } = await import('../../src/analysis.js');
  const { parseConfig } = await import('../../src/config/load.js');
  const answer = 'the tool answers over its stdio socketpair, one line\n';
  const hdr = (pid: number, t: bigint) => ({ version: 1, ktimeNs: t, pid, tid: pid, cgroupId: 1n });
  const fdio = (pid: number, fd: number, ino: bigint, t: bigint): RawEvent => ({ ...hdr(pid, t), op: 11, kind: 'fd.io', fd, fdKind: 2, readBytes: 0n, writeBytes: 0n, readCalls: 0, writeCalls: 0, reason: 1, firstNs: t, lastNs: t, ino });
  const raw: RawEvent[] = [
    exec(600, 1, 1, '/usr/bin/node', ['node', 'agent.js']),
    // Node's end of a child's stdout socketpair (inode 900): only this end is traced.
    { ...pipeEvent(600, 900n, 1, Buffer.from(answer), ms(10)), fd: 24 },
    fdio(600, 24, 900n, ms(11)),
    // A busy node: 5,000 other sockets close before the agent exits (more than any bounded set of inodes holds).
    ...Array.from({ length: 5000 }, (_, i) => fdio(600, 100 + (i % 900), 100_000n + BigInt(i), ms(12) + BigInt(i))),
    { ...hdr(600, ms(20)), op: 3, kind: 'proc.exit', ppid: 1, exitCode: 0, isThread: false },
  ];
  const out: { type: string; data: Record<string, unknown> }[] = [];
  const a = createAnalysis(parseConfig({ observability: { httpEnabled: false } }), { source: 'agentrail://t/sensor', resolvers: [], readProc: false, emit: (l) => out.push(...(l as never[])) });
  for (const ev of raw) a.route(ev);
  a.close();
  const pipe = out.filter((e) => e.type === 'dev.agentrail.data.access' && e.data.resource_type === 'pipe');
  assert.deepEqual(pipe.map((e) => [e.data.resource_uri, e.data.bytes_read, e.data.response_hash]), [['pipe:900', Buffer.byteLength(answer), expectedContentHash(answer, KEY)]]);
});
