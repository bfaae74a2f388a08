import { AR_ARGS_MAX, AR_COMM_LEN, AR_PATH_MAX, Flag, Op, off, sizeOf } from '../abi.js';
import { cstr, putCstr, writeHeader } from './fields.js';
import type { ProcExec } from '../../contracts/raw-event.js';
import type { OpCodec } from './types.js';

const S = 'ar_proc_exec';
const SIZE = sizeOf(S);
const PPID = off(S, 'ppid');
const UID = off(S, 'uid');
const GID = off(S, 'gid');
const ARGC = off(S, 'argc');
const FILENAME_LEN = off(S, 'filename_len');
const ARGS_LEN = off(S, 'args_len');
const FLAGS = off(S, 'flags');
const COMM = off(S, 'comm');
const FILENAME = off(S, 'filename');
const ARGS = off(S, 'args');

/** argv as NUL-separated strings; a final unterminated piece is kept (truncated argv). */
function splitArgs(buf: Buffer, start: number, len: number): string[] {
  const end = start + Math.min(len, AR_ARGS_MAX);
  const out: string[] = [];
  let p = start;
  while (p < end) {
    let z = buf.indexOf(0, p);
    if (z < 0 || z > end) z = end;
    out.push(buf.toString('utf8', p, z));
    p = z + 1;
  }
  return out;
}

export const procExec: OpCodec<ProcExec> = {
  ops: [Op.PROC_EXEC],
  kinds: ['proc.exec'],
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
      kind: 'proc.exec',
      ppid: buf.readUInt32LE(o + PPID),
      uid: buf.readUInt32LE(o + UID),
      gid: buf.readUInt32LE(o + GID),
      argc: buf.readUInt32LE(o + ARGC),
      flags: buf.readUInt32LE(o + FLAGS),
      comm: cstr(buf, o + COMM, AR_COMM_LEN),
      filename: cstr(buf, o + FILENAME, AR_PATH_MAX, buf.readUInt16LE(o + FILENAME_LEN)),
      args: splitArgs(buf, o + ARGS, buf.readUInt16LE(o + ARGS_LEN)),
    };
  },
  encode(ev) {
    const b = Buffer.alloc(SIZE);
    writeHeader(b, 0, Op.PROC_EXEC, SIZE, ev);
    b.writeUInt32LE(ev.ppid >>> 0, PPID);
    b.writeUInt32LE(ev.uid >>> 0, UID);
    b.writeUInt32LE(ev.gid >>> 0, GID);
    b.writeUInt32LE(ev.argc >>> 0, ARGC);
    putCstr(b, COMM, AR_COMM_LEN, ev.comm);
    const fn = putCstr(b, FILENAME, AR_PATH_MAX, ev.filename);
    b.writeUInt16LE(fn.len, FILENAME_LEN);
    // argv: each argument NUL-terminated, the whole area capped at AR_ARGS_MAX.
    const joined = Buffer.from(ev.args.map((a) => a + '\0').join(''), 'utf8');
    const n = Math.min(joined.length, AR_ARGS_MAX);
    joined.copy(b, ARGS, 0, n);
    b.writeUInt16LE(n, ARGS_LEN);
    let flags = ev.flags >>> 0;
    if (joined.length > AR_ARGS_MAX) flags |= Flag.ARGS_TRUNCATED;
    if (fn.truncated) flags |= Flag.PATH_TRUNCATED;
    b.writeUInt32LE(flags >>> 0, FLAGS);
    return b;
  },
};
