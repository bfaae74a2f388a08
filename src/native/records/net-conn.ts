import { Op, off, sizeOf } from '../abi.js';
import { writeHeader } from './fields.js';
import type { NetConn } from '../../contracts/raw-event.js';
import type { OpCodec } from './types.js';

const S = 'ar_net_conn';
const SIZE = sizeOf(S);
const FD = off(S, 'fd');
const RET = off(S, 'ret');
const FAMILY = off(S, 'family');
const PORT = off(S, 'port');
const SOCK_TYPE = off(S, 'sock_type');
const ADDR = off(S, 'addr');

export const AF_UNIX = 1;
export const AF_INET = 2;
export const AF_INET6 = 10;

/** Text form of the 16 address bytes: dotted quad, RFC 5952 IPv6, a unix path prefix, or hex. */
export function formatAddr(family: number, a: Buffer): string {
  if (family === AF_INET) return `${a[0]}.${a[1]}.${a[2]}.${a[3]}`;
  if (family === AF_INET6) {
    const g: number[] = [];
    for (let i = 0; i < 8; i++) g.push(a.readUInt16BE(i * 2));
    // Longest run (>= 2) of zero groups becomes "::".
    let best = -1;
    let bestLen = 0;
    for (let i = 0; i < 8; ) {
      if (g[i] !== 0) {
        i++;
        continue;
      }
      let j = i;
      while (j < 8 && g[j] === 0) j++;
      if (j - i > bestLen && j - i >= 2) {
        best = i;
        bestLen = j - i;
      }
      i = j;
    }
    const hex = (xs: number[]) => xs.map((x) => x.toString(16)).join(':');
    if (best < 0) return hex(g);
    return `${hex(g.slice(0, best))}::${hex(g.slice(best + bestLen))}`;
  }
  if (family === AF_UNIX) {
    // Abstract sockets start with NUL; shown with a leading "@" like ss(8).
    const abstract = a[0] === 0;
    const start = abstract ? 1 : 0;
    let end = a.indexOf(0, start);
    if (end < 0) end = a.length;
    const s = a.toString('utf8', start, end);
    return abstract && s ? '@' + s : s;
  }
  return a.toString('hex');
}

/** Inverse of formatAddr, for the encoder (bpftrace source, tests). */
export function parseAddr(family: number, s: string): Buffer {
  const out = Buffer.alloc(16);
  if (family === AF_INET) {
    const p = s.split('.').map((x) => Number(x) & 0xff);
    for (let i = 0; i < 4; i++) out[i] = p[i] ?? 0;
  } else if (family === AF_INET6) {
    let v4tail: number[] = [];
    let text = s;
    const lastColon = s.lastIndexOf(':');
    if (s.includes('.', lastColon)) {
      v4tail = s.slice(lastColon + 1).split('.').map((x) => Number(x) & 0xff);
      text = s.slice(0, lastColon + 1) + '0:0';
    }
    const [left, right] = text.includes('::') ? text.split('::') : [text, undefined];
    const l = left ? left.split(':').filter((x) => x !== '') : [];
    const r = right !== undefined && right !== '' ? right.split(':') : [];
    const groups = [...l, ...Array(Math.max(0, 8 - l.length - r.length)).fill('0'), ...r].slice(0, 8);
    groups.forEach((x, i) => out.writeUInt16BE(parseInt(x, 16) & 0xffff || 0, i * 2));
    if (v4tail.length === 4) for (let i = 0; i < 4; i++) out[12 + i] = v4tail[i] ?? 0;
  } else if (family === AF_UNIX) {
    const abstract = s.startsWith('@');
    Buffer.from(abstract ? s.slice(1) : s, 'utf8').copy(out, abstract ? 1 : 0, 0, abstract ? 15 : 16);
  } else if (/^[0-9a-f]*$/i.test(s)) {
    Buffer.from(s, 'hex').copy(out, 0, 0, 16);
  }
  return out;
}

export const netConn: OpCodec<NetConn> = {
  ops: [Op.NET_CONNECT, Op.NET_ACCEPT],
  kinds: ['net.connect', 'net.accept'],
  struct: S,
  minSize: SIZE,
  decode(buf, o, _size) {
    const family = buf.readUInt16LE(o + FAMILY);
    return {
      op: buf.readUInt16LE(o),
      version: buf.readUInt16LE(o + 2),
      ktimeNs: buf.readBigUInt64LE(o + 8),
      pid: buf.readUInt32LE(o + 16),
      tid: buf.readUInt32LE(o + 20),
      cgroupId: buf.readBigUInt64LE(o + 24),
      kind: buf.readUInt16LE(o) === Op.NET_ACCEPT ? 'net.accept' : 'net.connect',
      fd: buf.readInt32LE(o + FD),
      ret: buf.readInt32LE(o + RET),
      family,
      port: buf.readUInt16LE(o + PORT),
      sockType: buf.readUInt16LE(o + SOCK_TYPE),
      addr: formatAddr(family, buf.subarray(o + ADDR, o + ADDR + 16)),
    };
  },
  encode(ev) {
    const b = Buffer.alloc(SIZE);
    writeHeader(b, 0, ev.kind === 'net.accept' ? Op.NET_ACCEPT : Op.NET_CONNECT, SIZE, ev);
    b.writeInt32LE(ev.fd | 0, FD);
    b.writeInt32LE(ev.ret | 0, RET);
    b.writeUInt16LE(ev.family & 0xffff, FAMILY);
    b.writeUInt16LE(ev.port & 0xffff, PORT);
    b.writeUInt16LE((ev.sockType ?? 0) & 0xffff, SOCK_TYPE);
    parseAddr(ev.family, ev.addr).copy(b, ADDR);
    return b;
  },
};
