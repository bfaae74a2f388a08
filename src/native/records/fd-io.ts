import { Op, off, sizeOf } from '../abi.js';
import { writeHeader } from './fields.js';
import type { FdIo } from '../../contracts/raw-event.js';
import type { OpCodec } from './types.js';

const S = 'ar_fd_io';
const SIZE = sizeOf(S);
const FD = off(S, 'fd');
const FD_KIND = off(S, 'fd_kind');
const READ_BYTES = off(S, 'read_bytes');
const WRITE_BYTES = off(S, 'write_bytes');
const READ_CALLS = off(S, 'read_calls');
const WRITE_CALLS = off(S, 'write_calls');
const REASON = off(S, 'reason');
const FIRST_NS = off(S, 'first_ns');
const LAST_NS = off(S, 'last_ns');
const INO = off(S, 'ino');

export const fdIo: OpCodec<FdIo> = {
  ops: [Op.FD_IO],
  kinds: ['fd.io'],
  struct: S,
  minSize: SIZE,
  decode(buf, o, _size) {
    return {
      op: buf.readUInt16LE(o),
      version: buf.readUInt16LE(o + 2),
      ktimeNs: buf.readBigUInt64LE(o + 8),
      pid: buf.readUInt32LE(o + 16),
      tid: buf.readUInt32LE(o + 20),
      cgroupId: buf.readBigUInt64LE(o + 24),
      kind: 'fd.io',
      fd: buf.readInt32LE(o + FD),
      fdKind: buf.readUInt32LE(o + FD_KIND),
      readBytes: buf.readBigUInt64LE(o + READ_BYTES),
      writeBytes: buf.readBigUInt64LE(o + WRITE_BYTES),
      readCalls: buf.readUInt32LE(o + READ_CALLS),
      writeCalls: buf.readUInt32LE(o + WRITE_CALLS),
      reason: buf.readUInt32LE(o + REASON),
      firstNs: buf.readBigUInt64LE(o + FIRST_NS),
      lastNs: buf.readBigUInt64LE(o + LAST_NS),
      ino: buf.readBigUInt64LE(o + INO),
    };
  },
  encode(ev) {
    const b = Buffer.alloc(SIZE);
    writeHeader(b, 0, Op.FD_IO, SIZE, ev);
    b.writeInt32LE(ev.fd | 0, FD);
    b.writeUInt32LE(ev.fdKind >>> 0, FD_KIND);
    b.writeBigUInt64LE(BigInt.asUintN(64, ev.readBytes), READ_BYTES);
    b.writeBigUInt64LE(BigInt.asUintN(64, ev.writeBytes), WRITE_BYTES);
    b.writeUInt32LE(ev.readCalls >>> 0, READ_CALLS);
    b.writeUInt32LE(ev.writeCalls >>> 0, WRITE_CALLS);
    b.writeUInt32LE(ev.reason >>> 0, REASON);
    b.writeBigUInt64LE(BigInt.asUintN(64, ev.firstNs), FIRST_NS);
    b.writeBigUInt64LE(BigInt.asUintN(64, ev.lastNs), LAST_NS);
    b.writeBigUInt64LE(BigInt.asUintN(64, ev.ino), INO);
    return b;
  },
};
