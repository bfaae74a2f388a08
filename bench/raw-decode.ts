/**
 * decodeBatch throughput: records/s turned from ABI bytes into raw events on
 * one core, per op and for a mix, batches of 4,096 records (what the native
 * addon hands over). Prints JSON; asserts nothing.
 *   npm run build:ts && node dist/bench/raw-decode.js [seconds_per_case=1]
 */
import { decodeBatch } from '../src/decode/decode-batch.js';
import { encodeBatch } from '../src/native/records/encode.js';
import type { RawEvent } from '../src/contracts/raw-event.js';
import { AR_ABI_VERSION, Op } from '../src/native/abi.js';

const SECONDS = Number(process.argv[2] ?? 1);
const h = (op: number) => ({ op, version: AR_ABI_VERSION, ktimeNs: 123456789n, pid: 4242, tid: 4243, cgroupId: 77n });
const samples: RawEvent[] = [
  { ...h(Op.PROC_EXEC), kind: 'proc.exec', ppid: 1, uid: 0, gid: 0, argc: 3, flags: 0, comm: 'python3', filename: '/usr/bin/python3', args: ['python3', '-m', 'agent'] },
  { ...h(Op.PROC_FORK), kind: 'proc.fork', childPid: 5, childTid: 5, isThread: false },
  { ...h(Op.FILE_OPEN), kind: 'file.open', dirfd: -100, ret: 3, flags: 0, mode: 0, syscall: 2, path: '/home/agent/project/src/main.py', pathTruncated: false },
  { ...h(Op.FD_IO), kind: 'fd.io', fd: 3, fdKind: 1, readBytes: 4096n, writeBytes: 0n, readCalls: 2, writeCalls: 0, reason: 1, firstNs: 1n, lastNs: 2n, ino: 9n },
  { ...h(Op.NET_CONNECT), kind: 'net.connect', fd: 5, ret: 0, family: 2, port: 443, sockType: 1, addr: '10.0.0.1' },
  { ...h(Op.TLS_DATA), kind: 'tls.data', sslPtr: 0x7f00n, direction: 0, callLen: 512, chunkOffset: 0, fd: 5, flags: 0, callSeq: 1n, data: Buffer.alloc(512, 0x41) },
];

function rate(events: RawEvent[]): { recordsPerSec: number; mbPerSec: number } {
  const list: RawEvent[] = [];
  while (list.length < 4096) list.push(...events);
  const buf = encodeBatch(list.slice(0, 4096));
  for (let i = 0; i < 20; i++) decodeBatch(buf);
  const t0 = process.hrtime.bigint();
  let n = 0;
  let bytes = 0;
  while (process.hrtime.bigint() - t0 < BigInt(SECONDS * 1e9)) {
    n += decodeBatch(buf).length;
    bytes += buf.length;
  }
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  return { recordsPerSec: Math.round(n / s), mbPerSec: Math.round(bytes / s / 1e6) };
}

const out: Record<string, unknown> = {};
for (const e of samples) out[e.kind] = rate([e]);
out.mixed = rate(samples);
console.log(JSON.stringify(out, null, 2));
