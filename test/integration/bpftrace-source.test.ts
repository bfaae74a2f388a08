import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireKernel, requireTool } from '../helpers/privileges.js';
import { makeTestCa, removeTestCa, startRawHttpsServer } from '../helpers/tls-server.js';
import { repoRoot } from '../../src/paths.js';
import { BpftraceSource } from '../../src/source/bpftrace-source.js';
import { decodeBatch } from '../../src/decode/decode-batch.js';
import type { NetConn, RawEvent } from '../../src/contracts/raw-event.js';
import { emptySelection } from '../../src/source/source.js';
import { Direction, FdKind } from '../../src/native/abi.js';

const dir = mkdtempSync(join(tmpdir(), 'agentrail-bt-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('bpftrace source on a real workload: exec/exit, file open with byte counts, pipe write, connect, TLS metadata', { timeout: 240_000 }, async (t) => {
  if (!requireKernel(t, 'root, BTF and tracefs for bpftrace')) return;
  if (!requireTool(t, spawnSync('bpftrace', ['--version']).status === 0, 'bpftrace (apt-get install bpftrace)')) return;
  const N = 30_000;
  const dataIn = join(dir, 'in.bin');
  const fileOut = join(dir, 'out.bin');
  writeFileSync(dataIn, randomBytes(N));
  const ca = makeTestCa();
  const https = await startRawHttpsServer(ca, () => 3000);
  const tcp = createServer((s) => s.end());
  await new Promise<void>((r) => tcp.listen(0, '127.0.0.1', r));
  const tcpPort = (tcp.address() as AddressInfo).port;
  try {
    // Barrier: the workload waits on stdin until bpftrace has attached.
    const child = spawn('sh', ['-c', 'read _; exec "$@"', 'sh', process.execPath, join(repoRoot, 'test/helpers/collector-workload.mjs'), dataIn, fileOut, String(tcpPort), String(https.port), ca.caPath, '1000'], {
      stdio: ['pipe', 'inherit', 'inherit'],
    });
    const pid = child.pid!;
    const closed = new Promise<number | null>((r) => child.on('close', (c) => r(c)));
    const src = new BpftraceSource({ selection: { ...emptySelection(), pids: [pid] } });
    await src.start();
    const events: RawEvent[] = [];
    const pump = (async () => {
      for await (const b of src.batches()) events.push(...decodeBatch(b));
    })();
    child.stdin!.end('\n');
    assert.equal(await closed, 0, 'workload succeeded');
    await new Promise((r) => setTimeout(r, 500));
    await src.stop();
    await pump;
    assert.equal(src.counters().badLines, 0, 'every bpftrace line parsed');

    // exec of the workload itself (pid kept across exec) and of its child sh
    const execs = events.filter((e): e is Extract<RawEvent, { kind: 'proc.exec' }> => e.kind === 'proc.exec');
    const nodeExec = execs.find((e) => e.pid === pid);
    assert.ok(nodeExec, 'exec of the workload');
    assert.equal(nodeExec.filename, process.execPath);
    assert.deepEqual(nodeExec.args.slice(1, 3), [join(repoRoot, 'test/helpers/collector-workload.mjs'), dataIn]);
    const shExec = execs.find((e) => e.filename === '/bin/sh' && e.args.join(' ') === '/bin/sh -c echo pipe-payload; exit 3');
    assert.ok(shExec, 'exec of the child /bin/sh -c "echo pipe-payload; exit 3"');
    // (libuv's spawn also writes a byte into its own pipe in the forked child before exec)
    const pipe = events.find((e): e is Extract<RawEvent, { kind: 'pipe.data' }> => e.kind === 'pipe.data' && e.pid === shExec.pid && e.data.toString() === 'pipe-payload\n');
    assert.ok(pipe, 'the child wrote its line into its stdout pipe');
    assert.equal(pipe.callLen, 13);
    assert.equal(pipe.fd, 1);
    assert.equal(shExec.ppid, pid);
    const exits = events.filter((e): e is Extract<RawEvent, { kind: 'proc.exit' }> => e.kind === 'proc.exit');
    assert.equal(exits.find((e) => e.pid === shExec.pid)?.exitCode, 3 << 8, 'child exit status 3');
    assert.equal(exits.find((e) => e.pid === pid)?.exitCode, 0, 'workload exit status 0');
    assert.ok(events.some((e) => e.kind === 'proc.fork' && e.pid === pid && e.childPid === shExec.pid && !e.isThread), 'fork of the child');

    // file: open + per-fd counters on close
    const opens = events.filter((e): e is Extract<RawEvent, { kind: 'file.open' }> => e.kind === 'file.open' && e.pid === pid);
    const io = (path: string) => {
      const o = opens.find((e) => e.path === path && e.ret >= 0);
      assert.ok(o, `open of ${path}`);
      const rec = events.find((e): e is Extract<RawEvent, { kind: 'fd.io' }> => e.kind === 'fd.io' && e.pid === pid && e.fd === o.ret && e.ktimeNs > o.ktimeNs);
      assert.ok(rec, `fd.io of ${path}`);
      return rec;
    };
    const rin = io(dataIn);
    assert.equal(rin.readBytes, BigInt(N));
    assert.equal(rin.readCalls, Math.ceil(N / 4096) + 1, 'several reads, the last one at EOF');
    assert.equal(rin.fdKind, FdKind.FILE);
    assert.equal(rin.ino, statSync(dataIn, { bigint: true }).ino);
    const rout = io(fileOut);
    assert.equal(rout.writeBytes, 10_000n);
    assert.equal(rout.writeCalls, 10);

    // connect to the TCP and HTTPS ports
    const connects = events.filter((e): e is NetConn => e.kind === 'net.connect' && e.pid === pid);
    for (const port of [tcpPort, https.port]) {
      const c = connects.find((e) => e.port === port);
      assert.ok(c, `connect to ${port}`);
      assert.equal(c.addr, '127.0.0.1');
      assert.ok(c.ret === 0 || c.ret === -115, `connect ret ${c.ret}`);
    }

    // TLS metadata: the request went out and the response came back, true lengths
    const [ex] = await https.waitFor(1);
    const tls = events.filter((e): e is Extract<RawEvent, { kind: 'tls.data' }> => e.kind === 'tls.data' && e.pid === pid);
    const egress = tls.filter((e) => e.direction === Direction.EGRESS).reduce((a, e) => a + e.callLen, 0);
    const ingress = tls.filter((e) => e.direction === Direction.INGRESS).reduce((a, e) => a + e.callLen, 0);
    assert.equal(egress, ex!.received.length, 'bytes written through SSL_write = bytes the server received');
    assert.equal(ingress, ex!.sent.length, 'bytes read through SSL_read = bytes the server sent');
    const first = tls.find((e) => e.direction === Direction.EGRESS)!;
    assert.ok(first.data.length <= 200 && first.data.length > 0);
    assert.ok(ex!.received.subarray(0, first.data.length).equals(first.data), 'the first captured bytes are the request start');
  } finally {
    tcp.close();
    await https.close();
    removeTestCa(ca);
  }
});

test('bpftrace source: a missing bpftrace binary is a clear AgentrailError', async () => {
  const src = new BpftraceSource({ selection: { ...emptySelection(), all: true }, bpftracePath: '/nonexistent/bpftrace' });
  await assert.rejects(src.start(), (e: Error & { code?: string }) => e.code === 'UNAVAILABLE_BPFTRACE' && /bpftrace not found/.test(e.message));
});
