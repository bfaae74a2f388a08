import { randomBytes } from 'node:crypto';

/** An RFC 6455 §5.2 frame encoder written from the spec, independent of the parser. */
export function frame(opcode: number, payload: Buffer, o: { fin?: boolean; rsv1?: boolean; mask?: boolean; rsv?: number } = {}): Buffer {
  const fin = o.fin ?? true;
  const mask = o.mask ?? true;
  const b0 = (fin ? 0x80 : 0) | (o.rsv1 ? 0x40 : 0) | ((o.rsv ?? 0) << 4) | opcode;
  let head: Buffer;
  if (payload.length < 126) head = Buffer.from([b0, (mask ? 0x80 : 0) | payload.length]);
  else if (payload.length < 65536) {
    head = Buffer.alloc(4);
    head[0] = b0;
    head[1] = (mask ? 0x80 : 0) | 126;
    head.writeUInt16BE(payload.length, 2);
  } else {
    head = Buffer.alloc(10);
    head[0] = b0;
    head[1] = (mask ? 0x80 : 0) | 127;
    head.writeBigUInt64BE(BigInt(payload.length), 2);
  }
  if (!mask) return Buffer.concat([head, payload]);
  const key = randomBytes(4);
  const body = Buffer.from(payload.map((v, i) => v ^ key[i & 3]!));
  return Buffer.concat([head, key, body]);
}
