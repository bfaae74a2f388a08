import zlib from 'node:zlib';
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

/**
 * permessage-deflate as a sender runs it (RFC 7692 §7.2.1): one raw deflate
 * stream shared across messages, sync-flushed per message, the 00 00 ff ff
 * tail stripped. Call sequentially: the window is shared.
 */
export function deflater(): (s: string) => Promise<Buffer> {
  const d = zlib.createDeflateRaw();
  return async (s) => {
    const chunks: Buffer[] = [];
    const on = (c: Buffer): number => chunks.push(c);
    d.on('data', on);
    d.write(s);
    await new Promise<void>((r) => d.flush(zlib.constants.Z_SYNC_FLUSH, () => r()));
    await new Promise((r) => setImmediate(r));
    d.off('data', on);
    const all = Buffer.concat(chunks);
    if (!all.subarray(-4).equals(Buffer.from([0, 0, 0xff, 0xff]))) throw new Error('sync flush did not end with 00 00 ff ff');
    return all.subarray(0, -4);
  };
}
