import { Op, align8, off, sizeOf } from '../abi.js';
import { writeHeader } from './fields.js';
import type { PipeData } from '../../contracts/raw-event.js';
import type { OpCodec } from './types.js';

const S = 'ar_pipe_data';
const SIZE = sizeOf(S);
const PIPE_INO = off(S, 'pipe_ino');
const FD = off(S, 'fd');
const DIRECTION = off(S, 'direction');
const CALL_LEN = off(S, 'call_len');
const CHUNK_OFFSET = off(S, 'chunk_offset');
const CHUNK_LEN = off(S, 'chunk_len');
const FLAGS = off(S, 'flags');

/** Same payload convention as tls.data: `data` is a copy of the chunk. */
export const pipeData: OpCodec<PipeData> = {
  ops: [Op.PIPE_DATA],
  kinds: ['pipe.data'],
  struct: S,
  minSize: SIZE,
  decode(buf, o, size) {
    const chunkLen = buf.readUInt32LE(o + CHUNK_LEN);
    if (chunkLen > size - SIZE) return { fail: 'chunk_len_past_record' };
    const direction = buf.readUInt32LE(o + DIRECTION);
    if (direction > 1) return { fail: 'bad_direction' };
    return {
      op: buf.readUInt16LE(o),
      version: buf.readUInt16LE(o + 2),
      ktimeNs: buf.readBigUInt64LE(o + 8),
      pid: buf.readUInt32LE(o + 16),
      tid: buf.readUInt32LE(o + 20),
      cgroupId: buf.readBigUInt64LE(o + 24),
      kind: 'pipe.data',
      pipeIno: buf.readBigUInt64LE(o + PIPE_INO),
      fd: buf.readInt32LE(o + FD),
      direction: direction as 0 | 1,
      callLen: buf.readUInt32LE(o + CALL_LEN),
      chunkOffset: buf.readUInt32LE(o + CHUNK_OFFSET),
      flags: buf.readUInt32LE(o + FLAGS),
      data: Buffer.from(buf.subarray(o + SIZE, o + SIZE + chunkLen)),
    };
  },
  encode(ev) {
    const size = align8(SIZE + ev.data.length);
    const b = Buffer.alloc(size);
    writeHeader(b, 0, Op.PIPE_DATA, size, ev);
    b.writeBigUInt64LE(BigInt.asUintN(64, ev.pipeIno), PIPE_INO);
    b.writeInt32LE(ev.fd | 0, FD);
    b.writeUInt32LE(ev.direction, DIRECTION);
    b.writeUInt32LE(ev.callLen >>> 0, CALL_LEN);
    b.writeUInt32LE(ev.chunkOffset >>> 0, CHUNK_OFFSET);
    b.writeUInt32LE(ev.data.length, CHUNK_LEN);
    b.writeUInt32LE(ev.flags >>> 0, FLAGS);
    ev.data.copy(b, SIZE);
    return b;
  },
};
