import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ShardRouter, procPpid } from '../../src/shard/router.js';
import { encodeBatch } from '../../src/native/records/encode.js';
import { decodeBatch } from '../../src/decode/decode-batch.js';
import { AR_ABI_VERSION, Op } from '../../src/native/abi.js';
import type { RawEvent, RawHeader } from '../../src/contracts/raw-event.js';

const h = (op: number, pid: number): RawHeader => ({ op, version: AR_ABI_VERSION, ktimeNs: 1n, pid, tid: pid, cgroupId: 7n });
const exec = (pid: number, ppid: number): RawEvent => ({ ...h(Op.PROC_EXEC, pid), kind: 'proc.exec', ppid, uid: 0, gid: 0, argc: 1, flags: 0, comm: 'x', filename: '/bin/x', args: ['x'] });
const fork = (pid: number, child: number, isThread = false): RawEvent => ({ ...h(Op.PROC_FORK, pid), kind: 'proc.fork', childPid: child, childTid: child, isThread });
const exit = (pid: number): RawEvent => ({ ...h(Op.PROC_EXIT, pid), kind: 'proc.exit', ppid: 1, exitCode: 0, isThread: false });
const open = (pid: number, path: string): RawEvent => ({ ...h(Op.FILE_OPEN, pid), kind: 'file.open', dirfd: -100, ret: 3, flags: 0, mode: 0, syscall: 2, path, pathTruncated: false });

/** What each shard received: file paths (and record kinds) in order. */
function route(r: ShardRouter, evs: RawEvent[]): string[][] {
  return r.split(encodeBatch(evs)).map((p) => (p ? decodeBatch(Buffer.from(p)).map((e) => (e.kind === 'file.open' ? e.path : `${e.kind}:${e.pid}`)) : []));
}

test('a session stays on one shard: forked and exec-ed children follow their parent, new trees take turns', () => {
  const r = new ShardRouter(2);
  // Two agents (100, 200) whose parents the router never saw: two trees, one per shard.
  const got = route(r, [open(100, '/a1'), open(200, '/b1'), fork(100, 101), open(101, '/a-child'), exec(300, 200), open(300, '/b-exec-child'), fork(200, 201, true), open(100, '/a2')]);
  assert.deepEqual(got, [
    ['/a1', 'proc.fork:100', '/a-child', '/a2'],
    ['/b1', 'proc.exec:300', '/b-exec-child', 'proc.fork:200'],
  ]);
  assert.deepEqual(r.trees, [1, 1]);
  // Later batches keep the assignment; a third unknown tree goes to shard 0 again.
  assert.deepEqual(route(r, [open(101, '/a3'), open(300, '/b2'), open(400, '/c1')]), [['/a3', '/c1'], ['/b2']]);
  assert.deepEqual(r.trees, [2, 1]);
});

test('each part is a copy on its own ArrayBuffer (transferable without detaching the batch)', () => {
  const r = new ShardRouter(2);
  const batch = encodeBatch([open(1, '/x'), open(2, '/y')]);
  const parts = r.split(batch);
  for (const p of parts) {
    assert.ok(p);
    assert.equal(p.byteOffset, 0);
    assert.equal(p.buffer.byteLength, p.byteLength);
    assert.notEqual(p.buffer, batch.buffer);
  }
  assert.equal(parts[0]!.byteLength + parts[1]!.byteLength, batch.length);
});

test('a process unknown to the router joins its live parent\'s tree (readPpid), as the process table does', () => {
  const r = new ShardRouter(3, { readPpid: (pid) => (pid === 51 ? 50 : undefined) });
  assert.deepEqual(route(r, [open(50, '/parent'), open(60, '/other'), open(51, '/child-from-proc')]), [['/parent', '/child-from-proc'], ['/other'], []]);
});

test('exited processes keep their shard for the linger, then are forgotten; a reused pid starts where its new parent is', () => {
  let now = 1_000_000;
  const r = new ShardRouter(2, { now: () => now });
  route(r, [open(10, '/a'), open(20, '/b'), exit(20)]);
  now += 10_000;
  assert.deepEqual(route(r, [open(20, '/late-b')]), [[], ['/late-b']], 'a late record of an exited process still reaches its shard');
  now += 30_000;
  route(r, []);
  assert.equal(r.size, 1, 'pid 20 forgotten after the linger');
  // Pid 20 reused by a child of 10: shard 0 now.
  assert.deepEqual(route(r, [fork(10, 20), open(20, '/reused')]), [['proc.fork:10', '/reused'], []]);
});

test('unframed tail bytes go to shard 0, where the decoder counts them', () => {
  const r = new ShardRouter(2);
  const parts = r.split(Buffer.concat([encodeBatch([open(7, '/p'), open(8, '/q')]), Buffer.alloc(9, 1)]));
  const stats = { records: 0, errors: {} as Record<string, number> };
  assert.equal(decodeBatch(Buffer.from(parts[0]!), stats).length, 1);
  assert.equal(stats.errors.truncated_header, 1);
  assert.equal(decodeBatch(Buffer.from(parts[1]!)).length, 1);
});

test('procPpid reads the parent from a stat line whose comm holds spaces and parentheses', () => {
  const root = mkdtempSync(join(tmpdir(), 'agentrail-proc-'));
  mkdirSync(join(root, '42'));
  writeFileSync(join(root, '42', 'stat'), '42 (a b) (c)) S 41 42 42 0 -1 4194560 100 0 0 0\n');
  assert.equal(procPpid(42, root), 41);
  assert.equal(procPpid(43, root), undefined);
  assert.equal(procPpid(process.pid), process.ppid);
});
