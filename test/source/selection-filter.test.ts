import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SelectionFilter } from '../../src/source/selection-filter.js';
import { emptySelection } from '../../src/source/source.js';
import { encodeBatch } from '../../src/native/records/encode.js';
import { decodeBatch } from '../../src/decode/decode-batch.js';
import { AR_ABI_VERSION, Op } from '../../src/native/abi.js';
import type { RawEvent, RawHeader } from '../../src/contracts/raw-event.js';

const h = (op: number, pid: number, cg = 7n): RawHeader => ({ op, version: AR_ABI_VERSION, ktimeNs: 1n, pid, tid: pid, cgroupId: cg });
const exec = (pid: number, comm: string): RawEvent => ({ ...h(Op.PROC_EXEC, pid), kind: 'proc.exec', ppid: 1, uid: 0, gid: 0, argc: 1, flags: 0, comm, filename: '/bin/' + comm, args: [comm] });
const fork = (pid: number, child: number, isThread = false): RawEvent => ({ ...h(Op.PROC_FORK, pid), kind: 'proc.fork', childPid: child, childTid: child, isThread });
const exit = (pid: number): RawEvent => ({ ...h(Op.PROC_EXIT, pid), kind: 'proc.exit', ppid: 1, exitCode: 0, isThread: false });
const open = (pid: number, path: string, cg = 7n): RawEvent => ({ ...h(Op.FILE_OPEN, pid, cg), kind: 'file.open', dirfd: -100, ret: 3, flags: 0, mode: 0, syscall: 2, path, pathTruncated: false });

test('--comm: the exec with a matching comm selects the process and its children, until exit', () => {
  const f = new SelectionFilter({ ...emptySelection(), comms: ['agent'] });
  const input = [open(10, '/before'), exec(10, 'other'), exec(11, 'agent'), open(11, '/a'), fork(11, 12), open(12, '/child'), open(10, '/noise'), exit(11), open(11, '/after-exit-pid-reuse')];
  const kept = decodeBatch(f.filterBatch(encodeBatch(input)));
  assert.deepEqual(kept.map((e) => (e.kind === 'file.open' ? e.path : e.kind)), ['proc.exec', '/a', 'proc.fork', '/child', 'proc.exit']);
  assert.equal(f.filtered, 4);
});

test('pids and cgroups select; threads do not add pids; --all passes everything through', () => {
  const f = new SelectionFilter({ ...emptySelection(), pids: [5], cgroupIds: [99n] });
  const input = [open(5, '/p'), fork(5, 6, true), open(6, '/thread-pid'), open(8, '/cg', 99n), open(8, '/no', 7n)];
  const kept = decodeBatch(f.filterBatch(encodeBatch(input)));
  assert.deepEqual(kept.map((e) => (e.kind === 'file.open' ? e.path : e.kind)), ['/p', 'proc.fork', '/cg']);
  const all = new SelectionFilter({ ...emptySelection(), all: true });
  const b = encodeBatch(input);
  assert.equal(all.filterBatch(b), b);
});

test('unframed tail bytes are passed on for the decoder to count', () => {
  const f = new SelectionFilter({ ...emptySelection(), pids: [5] });
  const b = Buffer.concat([encodeBatch([open(5, '/p')]), Buffer.alloc(9, 1)]);
  const stats = { records: 0, errors: {} as Record<string, number> };
  assert.equal(decodeBatch(f.filterBatch(b), stats).length, 1);
  assert.equal(stats.errors.truncated_header, 1);
});
