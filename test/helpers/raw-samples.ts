import fc from 'fast-check';
import { AR_ABI_VERSION, Op } from '../../src/native/abi.js';
import { AF_INET, AF_INET6, AF_UNIX, formatAddr } from '../../src/native/records/net-conn.js';
import type { RawEvent, RawHeader } from '../../src/contracts/raw-event.js';

/** Hand-written raw events, one or more per op: fixtures for decode, capture and CLI tests. */
export function sampleEvents(): RawEvent[] {
  let t = 1_000_000_000n;
  const h = (op: number, pid = 4242, tid = pid): RawHeader => ({ op, version: AR_ABI_VERSION, ktimeNs: (t += 1_000_000n), pid, tid, cgroupId: 0x1234n });
  return [
    { ...h(Op.PROC_EXEC), kind: 'proc.exec', ppid: 1, uid: 1000, gid: 1000, argc: 3, flags: 0, comm: 'python3', filename: '/usr/bin/python3', args: ['python3', '-c', 'print(1)'] },
    { ...h(Op.PROC_FORK), kind: 'proc.fork', childPid: 4243, childTid: 4243, isThread: false },
    { ...h(Op.PROC_MMAP_EXEC), kind: 'proc.mmap_exec', dev: 0x803n, ino: 123456n, fd: 3, prot: 5 },
    { ...h(Op.FILE_OPEN), kind: 'file.open', dirfd: -100, ret: 3, flags: 0o100000, mode: 0, syscall: 2, path: '/etc/hostname', pathTruncated: false },
    { ...h(Op.FD_IO), kind: 'fd.io', fd: 3, fdKind: 1, readBytes: 4096n, writeBytes: 0n, readCalls: 3, writeCalls: 0, reason: 1, firstNs: 10n, lastNs: 20n, ino: 99n },
    { ...h(Op.FILE_OP), kind: 'file.op', op_kind: 2, ret: 0, fd: -1, mode: 0, length: 0n, path: '/tmp/a', path2: '/tmp/b' },
    { ...h(Op.NET_CONNECT), kind: 'net.connect', fd: 5, ret: 0, family: AF_INET, port: 443, sockType: 0, addr: '127.0.0.1' },
    { ...h(Op.NET_ACCEPT), kind: 'net.accept', fd: 6, ret: 6, family: AF_INET6, port: 8443, sockType: 0, addr: '::1' },
    { ...h(Op.TLS_PAIR), kind: 'tls.pair', sslPtr: 0x7f0012345678n, fd: 5, how: 2 },
    { ...h(Op.TLS_DATA), kind: 'tls.data', sslPtr: 0x7f0012345678n, direction: 0, callLen: 18, chunkOffset: 0, fd: 5, flags: 0, callSeq: 1n, data: Buffer.from('GET / HTTP/1.1\r\n\r\n') },
    { ...h(Op.TLS_DATA), kind: 'tls.data', sslPtr: 0x7f0012345678n, direction: 1, callLen: 17, chunkOffset: 0, fd: 5, flags: 0, callSeq: 2n, data: Buffer.from('HTTP/1.1 200 OK\r\n') },
    { ...h(Op.PIPE_DATA), kind: 'pipe.data', pipeIno: 777n, fd: 1, direction: 0, callLen: 5, chunkOffset: 0, flags: 0, data: Buffer.from('{"a"}') },
    { ...h(Op.PROC_EXIT), kind: 'proc.exit', ppid: 1, exitCode: 3 << 8, isThread: false },
  ];
}

const u32 = fc.integer({ min: 0, max: 0xffffffff });
const s32 = fc.integer({ min: -0x80000000, max: 0x7fffffff });
const u16 = fc.integer({ min: 0, max: 0xffff });
const u64 = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n });
/** Strings that survive a fixed C array of `max` bytes unchanged (no NUL, fits with its NUL). */
const cs = (max: number) =>
  fc.string({ unit: 'grapheme', maxLength: max }).filter((s) => !s.includes('\0') && Buffer.byteLength(s) <= max - 1);

const hdr = (op: number) => fc.record({ op: fc.constant(op), version: fc.constant(AR_ABI_VERSION), ktimeNs: u64, pid: u32, tid: u32, cgroupId: u64 });

/** An arbitrary for every op; the decoder must return exactly what the encoder was given. */
export const arbitraryByKind: Record<RawEvent['kind'], fc.Arbitrary<RawEvent>> = {
  'proc.exec': fc
    .tuple(hdr(Op.PROC_EXEC), u32, u32, u32, u32, cs(16), cs(256), fc.array(cs(40).filter((s) => s !== ''), { maxLength: 10 }))
    .map(([h, ppid, uid, gid, argc, comm, filename, args]) => ({ ...h, kind: 'proc.exec' as const, ppid, uid, gid, argc, flags: 0, comm, filename, args }))
    .filter((e) => Buffer.byteLength(e.args.map((a) => a + '\0').join('')) <= 512),
  'proc.fork': fc.tuple(hdr(Op.PROC_FORK), u32, u32, fc.boolean()).map(([h, childPid, childTid, isThread]) => ({ ...h, kind: 'proc.fork' as const, childPid, childTid, isThread })),
  'proc.exit': fc.tuple(hdr(Op.PROC_EXIT), u32, s32, fc.boolean()).map(([h, ppid, exitCode, isThread]) => ({ ...h, kind: 'proc.exit' as const, ppid, exitCode, isThread })),
  'proc.mmap_exec': fc.tuple(hdr(Op.PROC_MMAP_EXEC), u64, u64, s32, u32).map(([h, dev, ino, fd, prot]) => ({ ...h, kind: 'proc.mmap_exec' as const, dev, ino, fd, prot })),
  'file.open': fc
    .tuple(hdr(Op.FILE_OPEN), s32, s32, u32, u32, u16, cs(255))
    .map(([h, dirfd, ret, flags, mode, syscall, path]) => ({ ...h, kind: 'file.open' as const, dirfd, ret, flags, mode, syscall, path, pathTruncated: false })),
  'fd.io': fc
    .tuple(hdr(Op.FD_IO), s32, u32, u64, u64, u32, u32, u32, u64, u64, u64)
    .map(([h, fd, fdKind, readBytes, writeBytes, readCalls, writeCalls, reason, firstNs, lastNs, ino]) => ({ ...h, kind: 'fd.io' as const, fd, fdKind, readBytes, writeBytes, readCalls, writeCalls, reason, firstNs, lastNs, ino })),
  'file.op': fc
    .tuple(hdr(Op.FILE_OP), u32, s32, s32, u32, u64, cs(256), cs(256))
    .map(([h, op_kind, ret, fd, mode, length, path, path2]) => ({ ...h, kind: 'file.op' as const, op_kind, ret, fd, mode, length, path, path2 })),
  'net.connect': netArb(Op.NET_CONNECT, 'net.connect'),
  'net.accept': netArb(Op.NET_ACCEPT, 'net.accept'),
  'net.peek': fc
    .tuple(hdr(Op.NET_PEEK), s32, fc.constantFrom(1, 2), u32, fc.uint8Array({ maxLength: 2048 }))
    .map(([h, fd, peekKind, callLen, data]) => ({ ...h, kind: 'net.peek' as const, fd, peekKind, callLen, data: Buffer.from(data) })),
  'tls.data': fc
    .tuple(hdr(Op.TLS_DATA), u64, fc.constantFrom(0 as const, 1 as const), u32, u32, s32, u32, u64, fc.uint8Array({ maxLength: 4096 }))
    .map(([h, sslPtr, direction, callLen, chunkOffset, fd, flags, callSeq, data]) => ({ ...h, kind: 'tls.data' as const, sslPtr, direction, callLen, chunkOffset, fd, flags, callSeq, data: Buffer.from(data) })),
  'tls.pair': fc.tuple(hdr(Op.TLS_PAIR), u64, s32, u32).map(([h, sslPtr, fd, how]) => ({ ...h, kind: 'tls.pair' as const, sslPtr, fd, how })),
  'pipe.data': fc
    .tuple(hdr(Op.PIPE_DATA), u64, s32, fc.constantFrom(0 as const, 1 as const), u32, u32, u32, fc.uint8Array({ maxLength: 4096 }))
    .map(([h, pipeIno, fd, direction, callLen, chunkOffset, flags, data]) => ({ ...h, kind: 'pipe.data' as const, pipeIno, fd, direction, callLen, chunkOffset, flags, data: Buffer.from(data) })),
  'policy.enforce': fc
    .tuple(hdr(Op.POLICY_ENFORCE), fc.constantFrom('connect' as const, 'send' as const, 'exec' as const, 'open' as const), u32, s32, fc.constantFrom(AF_INET, AF_INET6), u16, fc.uint8Array({ minLength: 16, maxLength: 16 }), u16, cs(256), fc.constantFrom(1, 2), u64)
    .map(([h, what, rule, signalRet, fam, port, bytes, syscall, path, matched, ino]) => {
      const b = Buffer.from(bytes);
      if (fam === AF_INET) b.fill(0, 4);
      return what === 'connect' || what === 'send'
        ? { ...h, kind: 'policy.enforce' as const, what, rule, signalRet, family: fam, port, addr: formatAddr(fam, b), syscall: 0, matched: 0, ino: 0n, path: '' }
        : { ...h, kind: 'policy.enforce' as const, what, rule, signalRet, family: 0, port: 0, addr: '', syscall, matched, ino, path };
    }),
};

function netArb(op: number, kind: 'net.connect' | 'net.accept'): fc.Arbitrary<RawEvent> {
  const addrBytes = fc.uint8Array({ minLength: 16, maxLength: 16 }).map((a) => Buffer.from(a));
  return fc
    .tuple(hdr(op), s32, s32, fc.constantFrom(AF_INET, AF_INET6, AF_UNIX, 0, 17), u16, addrBytes, fc.stringMatching(/^[a-z0-9/._]{0,15}$/), fc.constantFrom(0, 1, 2))
    .map(([h, fd, ret, family, port, bytes, unixPath, sockType]) => {
      if (family === AF_INET) bytes.fill(0, 4);
      const addr = family === AF_UNIX ? unixPath : formatAddr(family, bytes);
      return { ...h, kind, fd, ret, family, port, sockType, addr };
    });
}

export const arbitraryRawEvent: fc.Arbitrary<RawEvent> = fc.oneof(...Object.values(arbitraryByKind));
