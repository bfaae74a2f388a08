import { AR_PEEK_MAX, Op, PeekKind, align8, off, sizeOf } from '../abi.js';
import { writeHeader } from './fields.js';
import type { NetPeek } from '../../contracts/raw-event.js';
import type { OpCodec } from './types.js';

const S = 'ar_net_peek';
const SIZE = sizeOf(S);
const FD = off(S, 'fd');
const KIND = off(S, 'kind');
const CALL_LEN = off(S, 'call_len');
const DATA_LEN = off(S, 'data_len');

/** The egress floor's peeks: the first bytes of a connection or a DNS answer; `data` is a copy. */
export const netPeek: OpCodec<NetPeek> = {
  ops: [Op.NET_PEEK],
  kinds: ['net.peek'],
  struct: S,
  minSize: SIZE,
  decode(buf, o, size) {
    const dataLen = buf.readUInt32LE(o + DATA_LEN);
    if (dataLen > size - SIZE || dataLen > AR_PEEK_MAX) return { fail: 'data_len_past_record' };
    const peekKind = buf.readUInt32LE(o + KIND);
    if (peekKind !== PeekKind.FIRST_WRITE && peekKind !== PeekKind.DNS_ANSWER) return { fail: 'bad_peek_kind' };
    return {
      op: buf.readUInt16LE(o),
      version: buf.readUInt16LE(o + 2),
      ktimeNs: buf.readBigUInt64LE(o + 8),
      pid: buf.readUInt32LE(o + 16),
      tid: buf.readUInt32LE(o + 20),
      cgroupId: buf.readBigUInt64LE(o + 24),
      kind: 'net.peek',
      fd: buf.readInt32LE(o + FD),
      peekKind,
      callLen: buf.readUInt32LE(o + CALL_LEN),
      data: Buffer.from(buf.subarray(o + SIZE, o + SIZE + dataLen)),
    };
  },
  encode(ev) {
    const size = align8(SIZE + ev.data.length);
    const b = Buffer.alloc(size);
    writeHeader(b, 0, Op.NET_PEEK, size, ev);
    b.writeInt32LE(ev.fd | 0, FD);
    b.writeUInt32LE(ev.peekKind >>> 0, KIND);
    b.writeUInt32LE(ev.callLen >>> 0, CALL_LEN);
    b.writeUInt32LE(ev.data.length, DATA_LEN);
    ev.data.copy(b, SIZE);
    return b;
  },
};
