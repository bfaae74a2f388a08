import { Op, align8, off, sizeOf } from '../abi.js';
import { writeHeader } from './fields.js';
import type { TlsData } from '../../contracts/raw-event.js';
import type { OpCodec } from './types.js';

const S = 'ar_tls_data';
const SIZE = sizeOf(S);
const SSL_PTR = off(S, 'ssl_ptr');
const DIRECTION = off(S, 'direction');
const CALL_LEN = off(S, 'call_len');
const CHUNK_OFFSET = off(S, 'chunk_offset');
const CHUNK_LEN = off(S, 'chunk_len');
const FD = off(S, 'fd');
const FLAGS = off(S, 'flags');
const CALL_SEQ = off(S, 'call_seq');

/**
 * `data` is a copy of the chunk, not a view of the batch: later stages zero-fill
 * payload buffers after redaction, and the batch may be a pooled native buffer.
 */
export const tlsData: OpCodec<TlsData> = {
  ops: [Op.TLS_DATA],
  kinds: ['tls.data'],
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
      kind: 'tls.data',
      sslPtr: buf.readBigUInt64LE(o + SSL_PTR),
      direction: direction as 0 | 1,
      callLen: buf.readUInt32LE(o + CALL_LEN),
      chunkOffset: buf.readUInt32LE(o + CHUNK_OFFSET),
      fd: buf.readInt32LE(o + FD),
      flags: buf.readUInt32LE(o + FLAGS),
      callSeq: buf.readBigUInt64LE(o + CALL_SEQ),
      data: Buffer.from(buf.subarray(o + SIZE, o + SIZE + chunkLen)),
    };
  },
  encode(ev) {
    const size = align8(SIZE + ev.data.length);
    const b = Buffer.alloc(size);
    writeHeader(b, 0, Op.TLS_DATA, size, ev);
    b.writeBigUInt64LE(BigInt.asUintN(64, ev.sslPtr), SSL_PTR);
    b.writeUInt32LE(ev.direction, DIRECTION);
    b.writeUInt32LE(ev.callLen >>> 0, CALL_LEN);
    b.writeUInt32LE(ev.chunkOffset >>> 0, CHUNK_OFFSET);
    b.writeUInt32LE(ev.data.length, CHUNK_LEN);
    b.writeInt32LE(ev.fd | 0, FD);
    b.writeUInt32LE(ev.flags >>> 0, FLAGS);
    b.writeBigUInt64LE(BigInt.asUintN(64, ev.callSeq), CALL_SEQ);
    ev.data.copy(b, SIZE);
    return b;
  },
};
