import { Op, off, sizeOf } from '../abi.js';
import { writeHeader } from './fields.js';
import type { TlsPair } from '../../contracts/raw-event.js';
import type { OpCodec } from './types.js';

const S = 'ar_tls_pair';
const SIZE = sizeOf(S);
const SSL_PTR = off(S, 'ssl_ptr');
const FD = off(S, 'fd');
const HOW = off(S, 'how');

export const tlsPair: OpCodec<TlsPair> = {
  ops: [Op.TLS_PAIR],
  kinds: ['tls.pair'],
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
      kind: 'tls.pair',
      sslPtr: buf.readBigUInt64LE(o + SSL_PTR),
      fd: buf.readInt32LE(o + FD),
      how: buf.readUInt32LE(o + HOW),
    };
  },
  encode(ev) {
    const b = Buffer.alloc(SIZE);
    writeHeader(b, 0, Op.TLS_PAIR, SIZE, ev);
    b.writeBigUInt64LE(BigInt.asUintN(64, ev.sslPtr), SSL_PTR);
    b.writeInt32LE(ev.fd | 0, FD);
    b.writeUInt32LE(ev.how >>> 0, HOW);
    return b;
  },
};
