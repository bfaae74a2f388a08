import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { BpftraceLineParser } from '../../src/source/bpftrace-lines.js';
import { buildProgram, hasBpftraceCaps, positionalParams } from '../../src/source/bpftrace-source.js';
import { decodeBatch } from '../../src/decode/decode-batch.js';
import { encodeEvent } from '../../src/native/records/encode.js';
import { emptySelection } from '../../src/source/source.js';
import { Flag, FlushReason } from '../../src/native/abi.js';

const pf = (data: string) => JSON.stringify({ type: 'printf', data: data + '\n' });
const hexOf = (b: Buffer) => [...b].map((x) => x.toString(16).padStart(2, '0')).join(' ');

test('bpftrace lines → raw events (exec with argv, fork, exit, open, fd counters, connect, accept, TLS, pipe)', () => {
  const p = new BpftraceLineParser();
  const argv = Buffer.from('/bin/sh\0-c\0exit 3\0');
  const req = Buffer.from('POST / HTTP/1.1\r\n\\x41');
  const lines = [
    JSON.stringify({ type: 'attached_probes', data: { probes: 54 } }),
    pf('READY\t777'),
    pf(`A\t100\t42\t42\t9\t${argv.length}\t${hexOf(argv)}`),
    pf('X\t101\t42\t42\t9\t41\t1000\t1000\tsh\t/usr/bin/with\ttab'),
    pf('F\t102\t42\t42\t9\t43\t0'),
    pf('F\t103\t42\t42\t9\t44\t1'),
    pf('E\t104\t43\t43\t9\t42\t768'),
    pf('O\t105\t42\t42\t9\t-100\t3\t524288\t0\t2\t/etc/hostname'),
    pf('I\t106\t42\t42\t9\t3\t1\t30000\t0\t9\t0\t50\t60\t1234\t1'),
    pf(`N\t107\t42\t42\t9\t5\t-115\t${hexOf(Buffer.from([2, 0, 0x1f, 0x90, 127, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]))}`),
    pf('C\t108\t42\t42\t9\t6\t6\t2\t' + ((0x1f90 & 0xff) * 256 + (0x1f90 >> 8)) + '\t' + 0x0100007f + '\t0\t0\t0\t0'),
    pf(`T\t109\t42\t42\t9\t139637976748032\t0\t5000\t${hexOf(req)}`),
    pf(`P\t110\t42\t42\t9\t297828\t1\t11\t${hexOf(Buffer.from('hello pipe\n'))}`),
    JSON.stringify({ type: 'lost_events', data: { events: 3 } }),
    pf('Z\tnot a known tag'),
    '{not json',
  ];
  const evs = lines.flatMap((l) => p.parseLine(l));
  assert.equal(p.stats.ready, true);
  assert.equal(p.bpftracePid, 777);
  assert.equal(p.stats.lost, 3);
  assert.equal(p.stats.badLines, 2);
  assert.deepEqual(
    evs.map((e) => e.kind),
    ['proc.exec', 'proc.fork', 'proc.fork', 'proc.exit', 'file.open', 'fd.io', 'net.connect', 'net.accept', 'tls.data', 'pipe.data'],
  );
  const [exec, fork, thread, exit, open, io, conn, acc, tls, pipe] = evs;
  assert.ok(exec?.kind === 'proc.exec');
  assert.deepEqual(exec.args, ['/bin/sh', '-c', 'exit 3']);
  assert.equal(exec.argc, 3);
  assert.equal(exec.filename, '/usr/bin/with\ttab', 'the last field keeps its tabs');
  assert.equal(exec.ppid, 41);
  assert.equal(exec.cgroupId, 9n);
  assert.ok(fork?.kind === 'proc.fork' && fork.childPid === 43 && !fork.isThread);
  assert.ok(thread?.kind === 'proc.fork' && thread.childPid === 42 && thread.childTid === 44 && thread.isThread);
  assert.ok(exit?.kind === 'proc.exit' && exit.exitCode === 768 && exit.pid === 43);
  assert.ok(open?.kind === 'file.open' && open.path === '/etc/hostname' && open.ret === 3 && open.dirfd === -100);
  assert.ok(io?.kind === 'fd.io' && io.readBytes === 30000n && io.readCalls === 9 && io.ino === 1234n && io.reason === FlushReason.CLOSE);
  assert.ok(conn?.kind === 'net.connect' && conn.addr === '127.0.0.1' && conn.port === 8080 && conn.ret === -115 && conn.family === 2);
  assert.ok(acc?.kind === 'net.accept' && acc.addr === '127.0.0.1' && acc.port === 8080 && acc.fd === 6);
  assert.ok(tls?.kind === 'tls.data');
  assert.ok(tls.data.equals(req), 'hex bytes decode exactly, backslashes included');
  assert.equal(tls.callLen, 5000);
  assert.equal(tls.flags & Flag.TRUNCATED, Flag.TRUNCATED);
  assert.ok(pipe?.kind === 'pipe.data' && pipe.pipeIno === 297828n && pipe.fd === 1 && pipe.callLen === 11 && pipe.flags === 0);
  assert.equal(pipe.data.toString(), 'hello pipe\n');
  // every event survives the ABI encoding used by the source
  for (const e of evs) assert.deepEqual(decodeBatch(encodeEvent(e)), [e]);
});

test('END maps of still-open fds become fd.io records (reason periodic)', () => {
  const p = new BpftraceLineParser();
  const m = (name: string, v: Record<string, number>) => JSON.stringify({ type: 'map', data: { [name]: v } });
  for (const l of [m('@rb', { '42,3': 100 }), m('@wb', { '42,4': 7 }), m('@rc', { '42,3': 2 }), m('@wc', { '42,4': 1 }), m('@first', { '42,3': 10, '42,4': 11 }), m('@last', { '42,3': 20, '42,4': 21 })])
    p.parseLine(l);
  const out = p.finish().sort((a, b) => a.fd - b.fd);
  assert.equal(out.length, 2);
  assert.deepEqual([out[0]!.fd, out[0]!.readBytes, out[0]!.readCalls, out[0]!.reason], [3, 100n, 2, FlushReason.PERIODIC]);
  assert.deepEqual([out[1]!.fd, out[1]!.writeBytes, out[1]!.writeCalls, out[1]!.lastNs], [4, 7n, 1, 21n]);
  assert.equal(p.finish().length, 0, 'flushed once');
});

test('garbage lines never throw (property)', () => {
  const p = new BpftraceLineParser();
  fc.assert(
    fc.property(fc.oneof(fc.string(), fc.string().map(pf), fc.array(fc.string({ maxLength: 8 }), { maxLength: 16 }).map((a) => pf(a.join('\t')))), (line) => {
      for (const e of p.parseLine(line)) encodeEvent(e);
    }),
    { numRuns: 2000 },
  );
});

test('positional parameters and the assembled program', () => {
  const params = positionalParams({ ...emptySelection(), pids: [10, 11], cgroupIds: [77n], comms: ['python3'] }, 999);
  assert.deepEqual(params, ['0', '77', '999', '10', '11', '0', '0', '0', '0', '0', '0', 'python3', '', '', '']);
  assert.throws(() => positionalParams({ ...emptySelection(), pids: [1, 2, 3, 4, 5, 6, 7, 8, 9] }, 1), /at most 8/);
  const prog = buildProgram(['/usr/lib/x86_64-linux-gnu/libssl.so.3', '/usr/bin/node']);
  assert.equal(prog.match(/uprobe:\/usr\/bin\/node:SSL_write,/g)?.length, 1);
  assert.equal(prog.match(/uretprobe:\/usr\/lib\/x86_64-linux-gnu\/libssl.so.3:SSL_read,/g)?.length, 1);
  assert.ok(!prog.includes('__LIB__'));
  assert.throws(() => buildProgram(['/bad path/lib.so']), /cannot take/);
});

test('capability check for bpftrace: CAP_SYS_ADMIN, or CAP_BPF and CAP_PERFMON', () => {
  const st = (hex: string) => `Name:\tnode\nCapInh:\t0000000000000000\nCapEff:\t${hex}\n`;
  assert.equal(hasBpftraceCaps(st('000001ffffffffff')), true);
  assert.equal(hasBpftraceCaps(st('0000000000200000')), true, 'CAP_SYS_ADMIN');
  assert.equal(hasBpftraceCaps(st('000000c000000000')), true, 'CAP_BPF + CAP_PERFMON');
  assert.equal(hasBpftraceCaps(st('0000008000000000')), false, 'CAP_BPF alone');
  assert.equal(hasBpftraceCaps(st('0000000000000000')), false);
});
