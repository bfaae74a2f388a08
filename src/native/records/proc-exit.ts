import { Op, off, sizeOf } from '../abi.js';
import { writeHeader } from './fields.js';
import type { ProcExit } from '../../contracts/raw-event.js';
import type { OpCodec } from './types.js';

const S = 'ar_proc_exit';
const SIZE = sizeOf(S);
const PPID = off(S, 'ppid');
const EXIT_CODE = off(S, 'exit_code');
const IS_THREAD = off(S, 'is_thread');

export const procExit: OpCodec<ProcExit> = {
  ops: [Op.PROC_EXIT],
  kinds: ['proc.exit'],
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
      kind: 'proc.exit',
      ppid: buf.readUInt32LE(o + PPID),
      exitCode: buf.readInt32LE(o + EXIT_CODE),
      isThread: buf.readUInt32LE(o + IS_THREAD) !== 0,
    };
  },
  encode(ev) {
    const b = Buffer.alloc(SIZE);
    writeHeader(b, 0, Op.PROC_EXIT, SIZE, ev);
    b.writeUInt32LE(ev.ppid >>> 0, PPID);
    b.writeInt32LE(ev.exitCode | 0, EXIT_CODE);
    b.writeUInt32LE(ev.isThread ? 1 : 0, IS_THREAD);
    return b;
  },
};
