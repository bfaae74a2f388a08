import { AR_PATH_MAX, Op, off, sizeOf } from '../abi.js';
import { cstr, putCstr, writeHeader } from './fields.js';
import type { FileOp } from '../../contracts/raw-event.js';
import type { OpCodec } from './types.js';

const S = 'ar_file_op';
const SIZE = sizeOf(S);
const KIND = off(S, 'kind');
const RET = off(S, 'ret');
const FD = off(S, 'fd');
const MODE = off(S, 'mode');
const LENGTH = off(S, 'length');
const PATH_LEN = off(S, 'path_len');
const PATH2_LEN = off(S, 'path2_len');
const PATH = off(S, 'path');
const PATH2 = off(S, 'path2');

export const fileOp: OpCodec<FileOp> = {
  ops: [Op.FILE_OP],
  kinds: ['file.op'],
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
      kind: 'file.op',
      op_kind: buf.readUInt32LE(o + KIND),
      ret: buf.readInt32LE(o + RET),
      fd: buf.readInt32LE(o + FD),
      mode: buf.readUInt32LE(o + MODE),
      length: buf.readBigUInt64LE(o + LENGTH),
      path: cstr(buf, o + PATH, AR_PATH_MAX, buf.readUInt16LE(o + PATH_LEN)),
      path2: cstr(buf, o + PATH2, AR_PATH_MAX, buf.readUInt16LE(o + PATH2_LEN)),
    };
  },
  encode(ev) {
    const b = Buffer.alloc(SIZE);
    writeHeader(b, 0, Op.FILE_OP, SIZE, ev);
    b.writeUInt32LE(ev.op_kind >>> 0, KIND);
    b.writeInt32LE(ev.ret | 0, RET);
    b.writeInt32LE(ev.fd | 0, FD);
    b.writeUInt32LE(ev.mode >>> 0, MODE);
    b.writeBigUInt64LE(BigInt.asUintN(64, ev.length), LENGTH);
    b.writeUInt16LE(ev.path ? putCstr(b, PATH, AR_PATH_MAX, ev.path).len : 0, PATH_LEN);
    b.writeUInt16LE(ev.path2 ? putCstr(b, PATH2, AR_PATH_MAX, ev.path2).len : 0, PATH2_LEN);
    return b;
  },
};
