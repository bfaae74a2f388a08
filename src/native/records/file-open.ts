import { AR_PATH_MAX, Op, off, sizeOf } from '../abi.js';
import { cstr, putCstr, writeHeader } from './fields.js';
import type { FileOpen } from '../../contracts/raw-event.js';
import type { OpCodec } from './types.js';

const S = 'ar_file_open';
const SIZE = sizeOf(S);
const DIRFD = off(S, 'dirfd');
const RET = off(S, 'ret');
const FLAGS = off(S, 'flags');
const MODE = off(S, 'mode');
const PATH_LEN = off(S, 'path_len');
const SYSCALL = off(S, 'syscall');
const PATH = off(S, 'path');

/**
 * ar_file_open has no truncation flag: bpf_probe_read_user_str() fills the
 * whole array (path_len == AR_PATH_MAX) exactly when the path did not fit, so
 * that is what `pathTruncated` reports (a path of exactly 255 bytes looks the same).
 */
export const fileOpen: OpCodec<FileOpen> = {
  ops: [Op.FILE_OPEN],
  kinds: ['file.open'],
  struct: S,
  minSize: SIZE,
  decode(buf, o, _size) {
    const pathLen = buf.readUInt16LE(o + PATH_LEN);
    return {
      op: buf.readUInt16LE(o),
      version: buf.readUInt16LE(o + 2),
      ktimeNs: buf.readBigUInt64LE(o + 8),
      pid: buf.readUInt32LE(o + 16),
      tid: buf.readUInt32LE(o + 20),
      cgroupId: buf.readBigUInt64LE(o + 24),
      kind: 'file.open',
      dirfd: buf.readInt32LE(o + DIRFD),
      ret: buf.readInt32LE(o + RET),
      flags: buf.readUInt32LE(o + FLAGS),
      mode: buf.readUInt32LE(o + MODE),
      syscall: buf.readUInt16LE(o + SYSCALL),
      path: cstr(buf, o + PATH, AR_PATH_MAX, pathLen),
      pathTruncated: pathLen >= AR_PATH_MAX,
    };
  },
  encode(ev) {
    const b = Buffer.alloc(SIZE);
    writeHeader(b, 0, Op.FILE_OPEN, SIZE, ev);
    b.writeInt32LE(ev.dirfd | 0, DIRFD);
    b.writeInt32LE(ev.ret | 0, RET);
    b.writeUInt32LE(ev.flags >>> 0, FLAGS);
    b.writeUInt32LE(ev.mode >>> 0, MODE);
    b.writeUInt16LE(ev.syscall & 0xffff, SYSCALL);
    const p = putCstr(b, PATH, AR_PATH_MAX, ev.path);
    b.writeUInt16LE(ev.pathTruncated || p.truncated ? AR_PATH_MAX : p.len, PATH_LEN);
    return b;
  },
};
