import { Op, off, sizeOf } from '../abi.js';
import { writeHeader } from './fields.js';
import type { ProcFork } from '../../contracts/raw-event.js';
import type { OpCodec } from './types.js';

const S = 'ar_proc_fork';
const SIZE = sizeOf(S);
const CHILD_PID = off(S, 'child_pid');
const CHILD_TID = off(S, 'child_tid');
const IS_THREAD = off(S, 'is_thread');

export const procFork: OpCodec<ProcFork> = {
  ops: [Op.PROC_FORK],
  kinds: ['proc.fork'],
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
      kind: 'proc.fork',
      childPid: buf.readUInt32LE(o + CHILD_PID),
      childTid: buf.readUInt32LE(o + CHILD_TID),
      isThread: buf.readUInt32LE(o + IS_THREAD) !== 0,
    };
  },
  encode(ev) {
    const b = Buffer.alloc(SIZE);
    writeHeader(b, 0, Op.PROC_FORK, SIZE, ev);
    b.writeUInt32LE(ev.childPid >>> 0, CHILD_PID);
    b.writeUInt32LE(ev.childTid >>> 0, CHILD_TID);
    b.writeUInt32LE(ev.isThread ? 1 : 0, IS_THREAD);
    return b;
  },
};
