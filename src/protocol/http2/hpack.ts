import { countDrop } from '../../observability/metrics.js';
/**
 * HPACK decoder (RFC 7541): integer and string primitives, Huffman, static and
 * dynamic tables with size updates. Written here rather than taken from npm
 * because the available packages (hpack.js) are stream-based with
 * asynchronous errors and unmaintained; a synchronous decoder that throws a
 * typed error on malformed input is what the HTTP/2 parser needs. Verified
 * against the RFC 7541 Appendix C vectors (test/protocol/hpack.test.ts).
 */
import { HUFFMAN_BIT_LENGTHS, STATIC_TABLE } from './hpack-tables.js';

export class HpackError extends Error {
  constructor(readonly reason: string) {
    super(`hpack: ${reason}`);
  }
}

/** Binary trie of the canonical Huffman code: node i has children at [2i], [2i+1]; leaves hold -(sym+1). */
const TRIE: Int32Array = (() => {
  const lens = HUFFMAN_BIT_LENGTHS;
  const order = [...lens.keys()].sort((a, b) => lens[a]! - lens[b]! || a - b);
  const trie = new Int32Array(2 * 1024).fill(0);
  let nodes = 1;
  let code = 0;
  let prev = lens[order[0]!]!;
  for (let i = 0; i < order.length; i++) {
    const sym = order[i]!;
    const len = lens[sym]!;
    if (i > 0) code = (code + 1) * 2 ** (len - prev);
    prev = len;
    let node = 0;
    for (let b = len - 1; b >= 0; b--) {
      const bit = Math.floor(code / 2 ** b) & 1;
      const slot = node * 2 + bit;
      if (b === 0) trie[slot] = -(sym + 1);
      else {
        if (trie[slot] === 0) trie[slot] = nodes++;
        node = trie[slot]!;
      }
    }
  }
  return trie;
})();

export function huffmanDecode(buf: Buffer, start: number, end: number): string {
  const out: number[] = [];
  let node = 0;
  let depth = 0;
  let allOnes = true;
  for (let i = start; i < end; i++) {
    const byte = buf[i]!;
    for (let b = 7; b >= 0; b--) {
      const bit = (byte >> b) & 1;
      const next = TRIE[node * 2 + bit]!;
      depth++;
      if (bit === 0) allOnes = false;
      if (next < 0) {
        const sym = -next - 1;
        if (sym === 256) throw new HpackError('huffman_eos');
        out.push(sym);
        node = 0;
        depth = 0;
        allOnes = true;
      } else if (next === 0) {
        throw new HpackError('huffman_invalid');
      } else node = next;
    }
  }
  // Padding: at most 7 bits, all ones (the EOS prefix).
  if (depth > 7 || !allOnes) throw new HpackError('huffman_padding');
  return Buffer.from(out).toString('latin1');
}

const ENTRY_OVERHEAD = 32;

/** Largest HPACK dynamic table kept per connection direction (Chrome announces 64 KiB). */
export const HPACK_TABLE_CAP = 64 * 1024;

export class HpackDecoder {
  private dyn: Array<[string, string]> = [];
  private dynSize = 0;
  private maxSize: number;

  /** `protocolMaxSize`: SETTINGS_HEADER_TABLE_SIZE of the decoding side (default 4096). */
  constructor(
    private protocolMaxSize = 4096,
    private readonly maxHeaderListBytes = 256 * 1024,
  ) {
    this.maxSize = protocolMaxSize;
  }

  /**
   * The peer's SETTINGS_HEADER_TABLE_SIZE, clamped: a traced process (or its server) may announce
   * gigabytes; the sensor keeps at most HPACK_TABLE_CAP per direction. A connection that then
   * really uses a larger table fails to decode (counted), the sensor's memory stays bounded.
   */
  setProtocolMaxSize(n: number): void {
    if (n > HPACK_TABLE_CAP) countDrop('protocol', 'hpack_table_clamped');
    this.protocolMaxSize = Math.min(n, HPACK_TABLE_CAP);
  }

  get tableSize(): number {
    return this.dynSize;
  }
  get tableEntries(): ReadonlyArray<[string, string]> {
    return this.dyn;
  }

  decode(block: Buffer): Array<[string, string]> {
    const headers: Array<[string, string]> = [];
    let listBytes = 0;
    const st = { pos: 0 };
    let headerSeen = false;
    while (st.pos < block.length) {
      const b = block[st.pos]!;
      if (b & 0x80) {
        const idx = this.int(block, st, 7);
        headers.push(this.get(idx));
        headerSeen = true;
      } else if (b & 0x40) {
        const h = this.literal(block, st, 6);
        // The table keeps its own tuple: the caller wipes the values of what it got
        // (redact/wipe.ts) once an exchange is built, and later blocks still index this entry.
        this.insert([h[0], h[1]]);
        headers.push(h);
        headerSeen = true;
      } else if (b & 0x20) {
        if (headerSeen) throw new HpackError('size_update_after_header');
        const n = this.int(block, st, 5);
        if (n > this.protocolMaxSize) throw new HpackError('size_update_too_large');
        this.maxSize = n;
        this.evict();
      } else {
        // 0000 without indexing, 0001 never indexed
        headers.push(this.literal(block, st, 4));
        headerSeen = true;
      }
      const last = headers[headers.length - 1];
      if (last) {
        listBytes += last[0].length + last[1].length + ENTRY_OVERHEAD;
        if (listBytes > this.maxHeaderListBytes) throw new HpackError('header_list_too_large');
      }
    }
    return headers;
  }

  private int(buf: Buffer, st: { pos: number }, prefix: number): number {
    const max = (1 << prefix) - 1;
    let v = buf[st.pos++]! & max;
    if (v < max) return v;
    let m = 0;
    for (;;) {
      if (st.pos >= buf.length) throw new HpackError('int_truncated');
      const b = buf[st.pos++]!;
      v += (b & 0x7f) * 2 ** m;
      m += 7;
      if (v > 0x7fffffff) throw new HpackError('int_overflow');
      if ((b & 0x80) === 0) return v;
    }
  }

  private str(buf: Buffer, st: { pos: number }): string {
    if (st.pos >= buf.length) throw new HpackError('string_truncated');
    const huff = (buf[st.pos]! & 0x80) !== 0;
    const len = this.int(buf, st, 7);
    if (st.pos + len > buf.length) throw new HpackError('string_truncated');
    const s = huff ? huffmanDecode(buf, st.pos, st.pos + len) : buf.toString('latin1', st.pos, st.pos + len);
    st.pos += len;
    return s;
  }

  private literal(buf: Buffer, st: { pos: number }, prefix: number): [string, string] {
    const idx = this.int(buf, st, prefix);
    const name = idx === 0 ? this.str(buf, st) : this.get(idx)[0];
    const value = this.str(buf, st);
    return [name, value];
  }

  private get(idx: number): [string, string] {
    if (idx === 0) throw new HpackError('index_zero');
    if (idx <= STATIC_TABLE.length) {
      const e = STATIC_TABLE[idx - 1]!;
      return [e[0], e[1]];
    }
    const e = this.dyn[idx - STATIC_TABLE.length - 1];
    if (!e) throw new HpackError('index_out_of_range');
    return [e[0], e[1]];
  }

  private insert(h: [string, string]): void {
    const size = h[0].length + h[1].length + ENTRY_OVERHEAD;
    if (size > this.maxSize) {
      this.dyn = [];
      this.dynSize = 0;
      return;
    }
    this.dyn.unshift(h);
    this.dynSize += size;
    this.evict();
  }

  private evict(): void {
    while (this.dynSize > this.maxSize && this.dyn.length > 0) {
      const e = this.dyn.pop()!;
      this.dynSize -= e[0].length + e[1].length + ENTRY_OVERHEAD;
    }
  }
}
