/**
 * AWS event stream binary framing (application/vnd.amazon.eventstream), used
 * by Bedrock's InvokeModelWithResponseStream and ConverseStream: prelude
 * (total length, headers length, prelude CRC32), typed headers, payload,
 * message CRC32. CRCs are checked; a bad frame stops decoding (counted by the
 * caller through `errors`).
 */
export interface AwsEventMessage {
  headers: Record<string, string | number | boolean>;
  payload: Buffer;
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

export function crc32(b: Uint8Array, start = 0, end = b.length): number {
  let c = 0xffffffff;
  for (let i = start; i < end; i++) c = CRC_TABLE[(c ^ b[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

export function parseAwsEventStream(buf: Buffer): { messages: AwsEventMessage[]; errors: number; rest: number } {
  const messages: AwsEventMessage[] = [];
  let off = 0;
  let errors = 0;
  while (buf.length - off >= 16) {
    const total = buf.readUInt32BE(off);
    const hlen = buf.readUInt32BE(off + 4);
    if (total < 16 || hlen > total - 16 || crc32(buf, off, off + 8) !== buf.readUInt32BE(off + 8)) {
      errors++;
      break;
    }
    if (buf.length - off < total) break;
    if (crc32(buf, off, off + total - 4) !== buf.readUInt32BE(off + total - 4)) {
      errors++;
      break;
    }
    const headers: AwsEventMessage['headers'] = {};
    let h = off + 12;
    const hend = h + hlen;
    try {
      while (h < hend) {
        const nlen = buf[h]!;
        const name = buf.toString('utf8', h + 1, h + 1 + nlen);
        h += 1 + nlen;
        const type = buf[h++]!;
        switch (type) {
          case 0: headers[name] = true; break;
          case 1: headers[name] = false; break;
          case 2: headers[name] = buf.readInt8(h); h += 1; break;
          case 3: headers[name] = buf.readInt16BE(h); h += 2; break;
          case 4: headers[name] = buf.readInt32BE(h); h += 4; break;
          case 5: case 8: headers[name] = Number(buf.readBigInt64BE(h)); h += 8; break;
          case 6: case 7: {
            const l = buf.readUInt16BE(h);
            headers[name] = type === 7 ? buf.toString('utf8', h + 2, h + 2 + l) : buf.toString('base64', h + 2, h + 2 + l);
            h += 2 + l;
            break;
          }
          case 9: headers[name] = buf.toString('hex', h, h + 16); h += 16; break;
          default: throw new Error('bad header type');
        }
      }
    } catch {
      errors++;
      break;
    }
    messages.push({ headers, payload: buf.subarray(hend, off + total - 4) });
    off += total;
  }
  return { messages, errors, rest: buf.length - off };
}

/** Encode one message (tests and fixtures). String headers only. */
export function encodeAwsEvent(headers: Record<string, string>, payload: Buffer): Buffer {
  const hparts: Buffer[] = [];
  for (const [k, v] of Object.entries(headers)) {
    const name = Buffer.from(k);
    const val = Buffer.from(v);
    const hb = Buffer.alloc(1 + name.length + 1 + 2 + val.length);
    hb[0] = name.length;
    name.copy(hb, 1);
    hb[1 + name.length] = 7;
    hb.writeUInt16BE(val.length, 2 + name.length);
    val.copy(hb, 4 + name.length);
    hparts.push(hb);
  }
  const hbuf = Buffer.concat(hparts);
  const total = 12 + hbuf.length + payload.length + 4;
  const out = Buffer.alloc(total);
  out.writeUInt32BE(total, 0);
  out.writeUInt32BE(hbuf.length, 4);
  out.writeUInt32BE(crc32(out, 0, 8), 8);
  hbuf.copy(out, 12);
  payload.copy(out, 12 + hbuf.length);
  out.writeUInt32BE(crc32(out, 0, total - 4), total - 4);
  return out;
}
