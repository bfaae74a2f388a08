import { AR_PATH_MAX, EnforceWhat, Op, off, sizeOf } from '../abi.js';
import { cstr, putCstr, writeHeader } from './fields.js';
import type { PolicyEnforce } from '../../contracts/raw-event.js';
import { formatAddr, parseAddr } from './net-conn.js';
import type { OpCodec } from './types.js';

const S = 'ar_enforce';
const SIZE = sizeOf(S);
const WHAT = off(S, 'what');
const RULE = off(S, 'rule');
const SIGNAL_RET = off(S, 'signal_ret');
const FAMILY = off(S, 'family');
const PORT = off(S, 'port');
const ADDR = off(S, 'addr');
const PATH_LEN = off(S, 'path_len');
const SYSCALL = off(S, 'syscall');
const MATCHED = off(S, 'matched');
const INO = off(S, 'ino');
const PATH = off(S, 'path');

const WHAT_NAMES: Record<number, PolicyEnforce['what']> = { [EnforceWhat.CONNECT]: 'connect', [EnforceWhat.SEND]: 'send', [EnforceWhat.EXEC]: 'exec', [EnforceWhat.OPEN]: 'open' };
const TO_DEST = (w: PolicyEnforce['what']) => w === 'connect' || w === 'send';

/** A task killed by bpf/enforce.bpf.c for a denied connect, exec or open (op 50). */
export const policyEnforce: OpCodec<PolicyEnforce> = {
  ops: [Op.POLICY_ENFORCE],
  kinds: ['policy.enforce'],
  struct: S,
  minSize: SIZE,
  decode(buf, o, _size) {
    const what = WHAT_NAMES[buf.readUInt32LE(o + WHAT)];
    if (!what) return { fail: 'enforce_unknown_what' };
    const family = buf.readUInt16LE(o + FAMILY);
    return {
      op: buf.readUInt16LE(o),
      version: buf.readUInt16LE(o + 2),
      ktimeNs: buf.readBigUInt64LE(o + 8),
      pid: buf.readUInt32LE(o + 16),
      tid: buf.readUInt32LE(o + 20),
      cgroupId: buf.readBigUInt64LE(o + 24),
      kind: 'policy.enforce',
      what,
      rule: buf.readUInt32LE(o + RULE),
      signalRet: buf.readInt32LE(o + SIGNAL_RET),
      family,
      port: buf.readUInt16LE(o + PORT),
      addr: TO_DEST(what) ? formatAddr(family, buf.subarray(o + ADDR, o + ADDR + 16)) : '',
      syscall: buf.readUInt16LE(o + SYSCALL),
      matched: buf.readUInt32LE(o + MATCHED),
      ino: buf.readBigUInt64LE(o + INO),
      path: TO_DEST(what) ? '' : cstr(buf, o + PATH, AR_PATH_MAX, buf.readUInt16LE(o + PATH_LEN)),
    };
  },
  encode(ev) {
    const b = Buffer.alloc(SIZE);
    writeHeader(b, 0, Op.POLICY_ENFORCE, SIZE, ev);
    const what = Number(Object.entries(WHAT_NAMES).find(([, n]) => n === ev.what)![0]);
    b.writeUInt32LE(what, WHAT);
    b.writeUInt32LE(ev.rule >>> 0, RULE);
    b.writeInt32LE(ev.signalRet | 0, SIGNAL_RET);
    b.writeUInt16LE(ev.family, FAMILY);
    b.writeUInt16LE(ev.port, PORT);
    if (TO_DEST(ev.what)) parseAddr(ev.family, ev.addr).copy(b, ADDR);
    b.writeUInt16LE(ev.syscall & 0xffff, SYSCALL);
    b.writeUInt32LE(ev.matched >>> 0, MATCHED);
    b.writeBigUInt64LE(ev.ino, INO);
    const p = putCstr(b, PATH, AR_PATH_MAX, ev.path);
    b.writeUInt16LE(TO_DEST(ev.what) ? 0 : p.len, PATH_LEN);
    return b;
  },
};
