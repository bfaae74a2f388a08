import { Op, off, sizeOf } from '../abi.js';
import { writeHeader } from './fields.js';
import type { ProcMmapExec } from '../../contracts/raw-event.js';
import type { OpCodec } from './types.js';

const S = 'ar_proc_mmap_exec';
const SIZE = sizeOf(S);
const DEV = off(S, 'dev');
const INO = off(S, 'ino');
const FD = off(S, 'fd');
const PROT = off(S, 'prot');

export const procMmapExec: OpCodec<ProcMmapExec> = {
  ops: [Op.PROC_MMAP_EXEC],
  kinds: ['proc.mmap_exec'],
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
      kind: 'proc.mmap_exec',
      dev: buf.readBigUInt64LE(o + DEV),
      ino: buf.readBigUInt64LE(o + INO),
      fd: buf.readInt32LE(o + FD),
      prot: buf.readUInt32LE(o + PROT),
    };
  },
  encode(ev) {
    const b = Buffer.alloc(SIZE);
    writeHeader(b, 0, Op.PROC_MMAP_EXEC, SIZE, ev);
    b.writeBigUInt64LE(BigInt.asUintN(64, ev.dev), DEV);
    b.writeBigUInt64LE(BigInt.asUintN(64, ev.ino), INO);
    b.writeInt32LE(ev.fd | 0, FD);
    b.writeUInt32LE(ev.prot >>> 0, PROT);
    return b;
  },
};
