import { after, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireKernel } from '../helpers/privileges.js';
import { AR_ARGS_MAX, Direction, FdKind, FileOpKind, Flag, FlushReason } from '../../src/native/abi.js';
import { cgroupIdOf, KernelHarness } from '../native/kernel-harness.js';

// One sensor (process, file, net, pipe) for the whole file: detaching ~80
// tracepoints takes seconds, so it is started once and stopped at the end.
let h: KernelHarness | undefined;
function harness(): KernelHarness {
  h ??= KernelHarness.start({ objects: ['process', 'file', 'net', 'pipe'] });
  return h;
}
after(async () => {
  if (h) {
    const c = h.source.counters();
    await h.stop();
    assert.deepEqual(h.decodeErrors, {}, 'every record the kernel produced decodes');
    assert.equal(c.batchesDropped, 0);
  }
});

const dir = mkdtempSync(join(tmpdir(), 'agentrail-kernel-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function kernel(t: TestContext): boolean {
  return requireKernel(t, 'root, BTF and tracefs to load the eBPF programs');
}

test('file: open(path), N bytes read in several reads, close; pid, ppid and cgroup are right', async (t) => {
  if (!kernel(t)) return;
  const N = 10_000;
  const path = join(dir, 'known.bin');
  writeFileSync(path, randomBytes(N));
  const k = harness();
  const r = await k.run('dd', [`if=${path}`, 'of=/dev/null', 'bs=1000']);
  assert.equal(r.code, 0);

  const open = k.of('file.open', r.pid).find((e) => e.path === path);
  assert.ok(open, 'an open record with the path');
  assert.ok(open.ret >= 0, `open succeeded (ret ${open.ret})`);
  assert.equal(open.tid, r.pid);
  assert.equal(open.cgroupId, cgroupIdOf('self'), 'cgroup id of the child = the test process cgroup');

  // dd moves the file to fd 0 (dup2), so the counters are matched by inode
  const io = k.of('fd.io', r.pid).filter((e) => e.ino === statSync(path, { bigint: true }).ino);
  assert.ok(
    io.length >= 1,
    `fd.io record(s) for the file (ino ${statSync(path, { bigint: true }).ino}); got ${JSON.stringify(
      k.of('fd.io', r.pid).map((e) => [e.fd, String(e.ino), String(e.readBytes), e.reason]),
    )}`,
  );
  const readBytes = io.reduce((a, e) => a + e.readBytes, 0n);
  const readCalls = io.reduce((a, e) => a + e.readCalls, 0);
  assert.equal(readBytes, BigInt(N));
  assert.ok(readCalls > 1, `several reads (${readCalls})`);
  assert.equal(io[0]!.fdKind, FdKind.FILE);
  assert.ok(io.some((e) => e.reason === FlushReason.CLOSE || e.reason === FlushReason.EXIT));

  const exec = k.of('proc.exec', r.pid).find((e) => e.filename.endsWith('/dd'));
  assert.ok(exec, 'exec of dd');
  assert.equal(exec.ppid, process.pid, 'ppid = the test process');
  assert.deepEqual(exec.args, ['dd', `if=${path}`, 'of=/dev/null', 'bs=1000']);
});

test('process: exec with argv and exit code of sh -c "exit 3"', async (t) => {
  if (!kernel(t)) return;
  const k = harness();
  const r = await k.run('sh', ['-c', 'exit 3']);
  assert.equal(r.code, 3);
  const exec = k.of('proc.exec', r.pid).find((e) => e.args[0] === 'sh' && e.args[2] === 'exit 3');
  assert.ok(exec, 'exec record with argv');
  assert.deepEqual(exec.args, ['sh', '-c', 'exit 3']);
  assert.equal(exec.argc, 3);
  assert.equal(exec.uid, process.getuid!());
  const exit = k.of('proc.exit', r.pid).find((e) => !e.isThread);
  assert.ok(exit);
  assert.equal(exit.exitCode >> 8, 3, `raw wait status ${exit.exitCode}`);
  assert.equal(exit.ppid, process.pid);
});

test('process: argv longer than AR_ARGS_MAX is cut, flagged, and keeps the true argc', async (t) => {
  if (!kernel(t)) return;
  const k = harness();
  const extra = Array.from({ length: 100 }, (_, i) => `argument-${String(i).padStart(3, '0')}`); // 1,300 bytes
  const r = await k.run('sh', ['-c', 'exit 0', ...extra]);
  assert.equal(r.code, 0);
  const exec = k.of('proc.exec', r.pid).find((e) => e.args[1] === '-c' && e.args[2] === 'exit 0');
  assert.ok(exec, 'exec record');
  assert.equal(exec.argc, 103, 'true argc');
  assert.ok((exec.flags & Flag.ARGS_TRUNCATED) !== 0, 'ARGS_TRUNCATED');
  assert.ok(exec.args.length < 103, `kept a prefix (${exec.args.length} args)`);
  const kept = exec.args.slice(3, -1); // the last one may be cut mid-way
  assert.deepEqual(kept, extra.slice(0, kept.length));
  assert.ok(exec.args.join('\0').length <= AR_ARGS_MAX);
});

test('process: fork is reported and the child inherits tracing', async (t) => {
  if (!kernel(t)) return;
  const k = harness();
  const r = await k.run('sh', ['-c', '/bin/echo forked; exit 0']);
  assert.equal(r.stdout.toString(), 'forked\n');
  const fork = k.of('proc.fork', r.pid).find((e) => !e.isThread);
  assert.ok(fork, 'fork record of the shell');
  const childExec = await k.waitFor((e) => e.kind === 'proc.exec' && e.pid === fork.childPid, 'exec of the forked child');
  assert.equal(childExec.kind === 'proc.exec' && childExec.filename, '/bin/echo');
  await k.waitFor((e) => e.kind === 'proc.exit' && e.pid === fork.childPid && !e.isThread, 'exit of the forked child');
});

test('net: connect to a local TCP server and a refused connect (-ECONNREFUSED)', async (t) => {
  if (!kernel(t)) return;
  const k = harness();
  const server = createServer((c) => c.end());
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const closed = createServer();
  await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
  const refusedPort = (closed.address() as AddressInfo).port;
  await new Promise<void>((r) => closed.close(() => r()));
  try {
    const r = await k.run('bash', ['-c', `exec 3<>/dev/tcp/127.0.0.1/${port}; exec 4<>/dev/tcp/127.0.0.1/${refusedPort}`]);
    assert.notEqual(r.code, 0, 'the second connect fails');
    const conns = k.of('net.connect', r.pid);
    const ok = conns.find((e) => e.port === port);
    assert.ok(ok, `connect to ${port}`);
    assert.equal(ok.family, 2);
    assert.equal(ok.addr, '127.0.0.1');
    assert.equal(ok.ret, 0);
    const refused = conns.find((e) => e.port === refusedPort);
    assert.ok(refused, `connect to ${refusedPort}`);
    assert.equal(refused.ret, -111, 'ECONNREFUSED');
  } finally {
    server.close();
  }
});

test('net: accept reports the peer of the new socket', async (t) => {
  if (!kernel(t)) return;
  const k = harness();
  const script =
    "const net=require('net');const s=net.createServer(c=>{c.end();s.close()});" +
    "s.listen(0,'127.0.0.1',()=>{const c=net.connect(s.address().port,'127.0.0.1');c.on('data',()=>{});c.on('close',()=>{})})";
  const r = await k.run(process.execPath, ['-e', script]);
  assert.equal(r.code, 0);
  const acc = k.of('net.accept', r.pid).find((e) => e.ret >= 0);
  assert.ok(acc, 'accept record');
  assert.equal(acc.family, 2);
  assert.equal(acc.addr, '127.0.0.1');
  const conn = k.of('net.connect', r.pid).find((e) => e.family === 2);
  assert.ok(conn, 'connect record of the client side');
  assert.ok(conn.ret === 0 || conn.ret === -115, `non-blocking connect: 0 or -EINPROGRESS (${conn.ret})`);
  assert.ok(acc.port > 0);
});

function payloadOf(k: KernelHarness, pid: number, fd: number): { data: Buffer; callLen: number; truncated: boolean; n: number } {
  const recs = k
    .of('pipe.data', pid)
    .filter((e) => e.direction === Direction.EGRESS && e.fd === fd)
    .sort((a, b) => (a.ktimeNs === b.ktimeNs ? a.chunkOffset - b.chunkOffset : a.ktimeNs < b.ktimeNs ? -1 : 1));
  return {
    data: Buffer.concat(recs.map((e) => e.data)),
    callLen: recs.filter((e) => e.chunkOffset === 0).reduce((a, e) => a + e.callLen, 0),
    truncated: recs.some((e) => (e.flags & 1) !== 0),
    n: recs.length,
  };
}

test('pipe: captured write payload equals the bytes written (pipe and socketpair stdio)', async (t) => {
  if (!kernel(t)) return;
  const k = harness();
  const payload = randomBytes(10_000).toString('base64'); // 13,336 bytes, written in 8 KiB calls
  const path = join(dir, 'payload.txt');
  writeFileSync(path, payload);
  const r = await k.run('sh', ['-c', `dd if="${path}" bs=8192 status=none | cat`]);
  assert.equal(r.stdout.toString(), payload);
  const ddExec = k.events.find((e) => e.kind === 'proc.exec' && e.filename.endsWith('/dd') && e.args.includes(`if=${path}`));
  assert.ok(ddExec, 'dd, a grandchild, is traced by inheritance');
  const viaPipe = payloadOf(k, ddExec.pid, 1);
  assert.ok(viaPipe.n >= 4, `chunked records (${viaPipe.n})`);
  assert.equal(viaPipe.truncated, false, 'nothing truncated under the default cap');
  assert.equal(viaPipe.data.toString(), payload, 'bytes written into the pipe');
  assert.equal(viaPipe.callLen, payload.length, 'call lengths add up to the bytes written');
  // cat writes to its stdout, a socketpair made by node (libuv stdio)
  const catExec = k.events.find((e) => e.kind === 'proc.exec' && e.filename.endsWith('/cat') && e.ppid === r.pid);
  assert.ok(catExec, 'cat exec');
  assert.equal(payloadOf(k, catExec.pid, 1).data.toString(), payload, 'bytes written into the unix socket');
});

test('pipe: a write above pipeCap keeps its true length, is flagged and counted', async (t) => {
  if (!kernel(t)) return;
  const k = harness();
  const payload = randomBytes(15_000).toString('base64'); // 20,000 bytes in one write
  const path = join(dir, 'big.txt');
  writeFileSync(path, payload);
  const before = k.source.counters()['drops.pipe.payload_truncated'] ?? 0;
  const r = await k.run('sh', ['-c', `dd if="${path}" bs=20000 count=1 status=none | cat >/dev/null`]);
  assert.equal(r.code, 0);
  const dd = k.events.find((e) => e.kind === 'proc.exec' && e.filename.endsWith('/dd') && e.args.includes(`if=${path}`));
  assert.ok(dd, 'dd exec');
  const got = payloadOf(k, dd.pid, 1);
  assert.equal(got.truncated, true, 'AR_F_TRUNCATED');
  assert.equal(got.callLen, 20_000, 'true call length');
  assert.equal(got.data.length, 16_384, 'captured up to the default pipe cap');
  assert.equal(got.data.toString(), payload.slice(0, 16_384));
  assert.ok((k.source.counters()['drops.pipe.payload_truncated'] ?? 0) > before, 'truncation counted');
});

test('file ops: rename and unlink with their paths and results', async (t) => {
  if (!kernel(t)) return;
  const k = harness();
  const a = join(dir, 'a.txt');
  const b = join(dir, 'b.txt');
  writeFileSync(a, 'x');
  const r = await k.run('sh', ['-c', `mv "${a}" "${b}" && rm "${b}" && rm "${b}"`]);
  assert.notEqual(r.code, 0, 'the second rm fails');
  assert.equal(existsSync(b), false);
  const ops = k.events.filter((e) => e.kind === 'file.op');
  const ren = ops.find((e) => e.kind === 'file.op' && e.op_kind === FileOpKind.RENAME && e.path === a);
  assert.ok(ren && ren.kind === 'file.op', 'rename record');
  assert.equal(ren.path2, b);
  assert.equal(ren.ret, 0);
  const unl = ops.filter((e) => e.kind === 'file.op' && e.op_kind === FileOpKind.UNLINK && e.path === b);
  assert.equal(unl.length, 2, 'two unlink attempts');
  assert.deepEqual(unl.map((e) => e.kind === 'file.op' && e.ret).sort(), [-2, 0], 'one ok, one ENOENT');
  void readFileSync;
});

test('file ops: truncate and chmod with length and mode', async (t) => {
  if (!kernel(t)) return;
  const k = harness();
  const f = join(dir, 'c.txt');
  writeFileSync(f, 'hello world');
  const r = await k.run('sh', ['-c', `truncate -s 5 "${f}" && chmod 600 "${f}"`]);
  assert.equal(r.code, 0);
  assert.equal(statSync(f).size, 5);
  const ops = k.events.filter((e) => e.kind === 'file.op');
  const tr = ops.find((e) => e.kind === 'file.op' && e.op_kind === FileOpKind.TRUNCATE && e.length === 5n);
  assert.ok(tr && tr.kind === 'file.op', 'truncate record with the length');
  assert.equal(tr.ret, 0);
  assert.ok(tr.fd >= 0 || tr.path === f, 'ftruncate names the fd, truncate the path');
  const ch = ops.find((e) => e.kind === 'file.op' && e.op_kind === FileOpKind.CHMOD && e.path === f);
  assert.ok(ch && ch.kind === 'file.op', 'chmod record with the path');
  assert.equal(ch.mode & 0o7777, 0o600);
  assert.equal(ch.ret, 0);
});

test('untraced processes produce no records and drops are counted, never silent', async (t) => {
  if (!kernel(t)) return;
  const k = harness();
  const { spawnSync } = await import('node:child_process');
  const untraced = spawnSync('sh', ['-c', 'echo $$; cat /etc/hostname >/dev/null']);
  const upid = Number(untraced.stdout.toString().split('\n')[0]);
  await k.barrier();
  assert.equal(k.events.filter((e) => e.pid === upid).length, 0, 'no record of an untraced process');
  const c = k.source.counters();
  for (const fam of ['process', 'file', 'net', 'pipe'])
    assert.equal(typeof c[`drops.${fam}.ringbuf_full`], 'number', `drop counter of ${fam} is exported`);
  assert.equal(c['drops.file.ringbuf_full'], 0);
});
