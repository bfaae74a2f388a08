import { closeSync, fsyncSync, openSync, writeSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { hostname } from 'node:os';
import { crc32 } from 'node:zlib';
import { AgentrailError } from '../errors.js';
import { AR_ABI_VERSION, align8 } from '../native/abi.js';
import { scanRecords } from '../native/records/framing.js';

/**
 * agentrail capture file, format version 1 (spec: docs/collectors.md).
 *
 * File header (little-endian), padded to 8 bytes:
 *   0  magic      "AGRLCAP\0"        8 bytes
 *   8  u16 format_version (1)
 *  10  u16 abi_version    (AR_ABI_VERSION of the records)
 *  12  u32 header_len     (bytes, incl. host and padding)
 *  16  u64 created_unix_ns  (CLOCK_REALTIME)
 *  24  u64 created_ktime_ns (CLOCK_MONOTONIC = bpf_ktime_get_ns clock)
 *  32  u16 host_len, 34 u16 reserved (0)
 *  36  u32 header_crc     (CRC32 of the header with this field zeroed)
 *  40  host (utf8), zero padding to header_len
 *
 * Then blocks, each:
 *   0  magic "ARBK"  4 bytes
 *   4  u32 payload_len   (bytes of records)
 *   8  u32 record_count
 *  12  u32 crc           (CRC32 of block bytes 0..11 and 16..23, then the payload)
 *  16  u64 first_ktime_ns
 *  24  payload: raw records exactly as received from the source
 */
export const CAPTURE_MAGIC = Buffer.from('AGRLCAP\0', 'latin1');
export const BLOCK_MAGIC = Buffer.from('ARBK', 'latin1');
export const CAPTURE_FORMAT_VERSION = 1;
export const FILE_HEADER_FIXED = 40;
export const BLOCK_HEADER = 24;
/** Largest payload a reader accepts; larger lengths are treated as corruption. */
export const MAX_BLOCK_PAYLOAD = 64 * 1024 * 1024;

export interface CaptureHeader {
  formatVersion: number;
  abiVersion: number;
  createdUnixNs: bigint;
  createdKtimeNs: bigint;
  host: string;
  headerLen: number;
}

export interface CaptureBlock {
  /** Byte offset of the block header in the file. */
  offset: number;
  recordCount: number;
  firstKtimeNs: bigint;
  records: Buffer;
}

function blockCrc(hdr: Buffer, payload: Buffer): number {
  return crc32(payload, crc32(hdr.subarray(16, 24), crc32(hdr.subarray(0, 12))));
}

export function encodeFileHeader(h: { host: string; createdUnixNs: bigint; createdKtimeNs: bigint; abiVersion?: number }): Buffer {
  const host = Buffer.from(h.host, 'utf8').subarray(0, 1024);
  const len = align8(FILE_HEADER_FIXED + host.length);
  const b = Buffer.alloc(len);
  CAPTURE_MAGIC.copy(b, 0);
  b.writeUInt16LE(CAPTURE_FORMAT_VERSION, 8);
  b.writeUInt16LE(h.abiVersion ?? AR_ABI_VERSION, 10);
  b.writeUInt32LE(len, 12);
  b.writeBigUInt64LE(h.createdUnixNs, 16);
  b.writeBigUInt64LE(h.createdKtimeNs, 24);
  b.writeUInt16LE(host.length, 32);
  host.copy(b, FILE_HEADER_FIXED);
  b.writeUInt32LE(crc32(b), 36);
  return b;
}

export function encodeBlock(records: Buffer): Buffer {
  const scan = scanRecords(records);
  const hdr = Buffer.alloc(BLOCK_HEADER);
  BLOCK_MAGIC.copy(hdr, 0);
  hdr.writeUInt32LE(records.length, 4);
  hdr.writeUInt32LE(scan.count, 8);
  hdr.writeBigUInt64LE(scan.firstKtimeNs, 16);
  hdr.writeUInt32LE(blockCrc(hdr, records), 12);
  return Buffer.concat([hdr, records]);
}

/** Appends one block per batch. Synchronous writes keep blocks in order and whole. */
export class CaptureWriter {
  private fd: number | undefined;
  private offset = 0;
  blocks = 0;
  records = 0;

  private constructor(fd: number, header: Buffer) {
    this.fd = fd;
    this.put(header);
  }

  static create(path: string, opts: { host?: string } = {}): CaptureWriter {
    let fd: number;
    try {
      fd = openSync(path, 'w');
    } catch (e) {
      throw new AgentrailError('CAPTURE_OPEN', `cannot create capture file ${path}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`, { cause: e });
    }
    const header = encodeFileHeader({
      host: opts.host ?? hostname(),
      createdUnixNs: BigInt(Date.now()) * 1_000_000n,
      createdKtimeNs: process.hrtime.bigint(),
    });
    return new CaptureWriter(fd, header);
  }

  private put(b: Buffer): void {
    if (this.fd === undefined) throw new AgentrailError('CAPTURE_CLOSED', 'capture file already closed');
    let done = 0;
    while (done < b.length) done += writeSync(this.fd, b, done, b.length - done);
    this.offset += b.length;
  }

  /** One batch → one block; empty batches are skipped. */
  write(records: Buffer): void {
    if (records.length === 0) return;
    if (records.length > MAX_BLOCK_PAYLOAD) {
      // Split on record boundaries so no block exceeds what a reader accepts.
      let o = 0;
      while (o < records.length) {
        const scan = scanRecords(records.subarray(o, o + MAX_BLOCK_PAYLOAD));
        const n = scan.framedBytes > 0 ? scan.framedBytes : Math.min(MAX_BLOCK_PAYLOAD, records.length - o);
        this.write(records.subarray(o, o + n));
        o += n;
      }
      return;
    }
    const block = encodeBlock(records);
    this.put(block);
    this.blocks++;
    this.records += block.readUInt32LE(8);
  }

  get bytesWritten(): number {
    return this.offset;
  }

  close(): void {
    if (this.fd === undefined) return;
    fsyncSync(this.fd);
    closeSync(this.fd);
    this.fd = undefined;
  }
}

function corrupt(path: string, what: string, offset: number): AgentrailError {
  return new AgentrailError('CAPTURE_CORRUPT', `${what} at offset ${offset} in ${path}`, { hint: 'the capture file is damaged; re-record it' });
}
function truncated(path: string, what: string, offset: number, missing: number): AgentrailError {
  return new AgentrailError('CAPTURE_TRUNCATED', `${what} at offset ${offset} ends past the end of ${path} (${missing} bytes missing)`, {
    hint: 'the capture file is incomplete (was the recorder killed?)',
  });
}

async function readExactly(fh: FileHandle, len: number, pos: number): Promise<Buffer> {
  const b = Buffer.alloc(len);
  let got = 0;
  while (got < len) {
    const { bytesRead } = await fh.read(b, got, len - got, pos + got);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  return got === len ? b : b.subarray(0, got);
}

/**
 * Validate a complete file header (`b` holds at least header_len bytes, or the
 * whole file if shorter). Order matters: the checksum is verified before any
 * field is believed, so a flipped version byte reads as corruption.
 */
export function parseFileHeader(path: string, b: Buffer): CaptureHeader {
  if (b.length < 8 || !b.subarray(0, 8).equals(CAPTURE_MAGIC)) {
    if (b.length < 8 && CAPTURE_MAGIC.subarray(0, b.length).equals(b)) throw truncated(path, 'file header', 0, FILE_HEADER_FIXED - b.length);
    throw corrupt(path, 'bad magic (not an agentrail capture file)', 0);
  }
  if (b.length < FILE_HEADER_FIXED) throw truncated(path, 'file header', 0, FILE_HEADER_FIXED - b.length);
  const headerLen = b.readUInt32LE(12);
  const hostLen = b.readUInt16LE(32);
  if (headerLen < FILE_HEADER_FIXED || headerLen > 4096 || headerLen % 8 !== 0 || FILE_HEADER_FIXED + hostLen > headerLen)
    throw corrupt(path, 'bad file header length field', 12);
  if (b.length < headerLen) throw truncated(path, 'file header', 0, headerLen - b.length);
  const full = Buffer.from(b.subarray(0, headerLen));
  const want = full.readUInt32LE(36);
  full.writeUInt32LE(0, 36);
  if (crc32(full) !== want) throw corrupt(path, 'bad checksum in file header', 0);
  const formatVersion = b.readUInt16LE(8);
  if (formatVersion !== CAPTURE_FORMAT_VERSION)
    throw new AgentrailError('CAPTURE_VERSION', `capture format version ${formatVersion} at offset 8 in ${path} is not supported (this build reads ${CAPTURE_FORMAT_VERSION})`);
  return {
    formatVersion,
    abiVersion: b.readUInt16LE(10),
    createdUnixNs: b.readBigUInt64LE(16),
    createdKtimeNs: b.readBigUInt64LE(24),
    host: b.toString('utf8', FILE_HEADER_FIXED, FILE_HEADER_FIXED + hostLen),
    headerLen,
  };
}

/**
 * Reads a capture file block by block, verifying every checksum. Corruption
 * and truncation throw an AgentrailError naming the byte offset; blocks before
 * the damage have already been yielded.
 */
export class CaptureReader {
  header!: CaptureHeader;
  private constructor(
    readonly path: string,
    private readonly fh: FileHandle,
    private readonly size: number,
  ) {}

  static async open(path: string): Promise<CaptureReader> {
    let fh: FileHandle;
    try {
      fh = await open(path, 'r');
    } catch (e) {
      throw new AgentrailError('CAPTURE_OPEN', `cannot open capture file ${path}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`, { cause: e });
    }
    const { size } = await fh.stat();
    const r = new CaptureReader(path, fh, size);
    try {
      r.header = parseFileHeader(path, await readExactly(fh, Math.min(size, 4096), 0));
    } catch (e) {
      await fh.close();
      throw e;
    }
    return r;
  }

  async *blocks(): AsyncGenerator<CaptureBlock> {
    let pos = this.header.headerLen;
    try {
      while (pos < this.size) {
        const hdr = await readExactly(this.fh, BLOCK_HEADER, pos);
        if (hdr.length < BLOCK_HEADER) throw truncated(this.path, 'block header', pos, BLOCK_HEADER - hdr.length);
        if (!hdr.subarray(0, 4).equals(BLOCK_MAGIC)) throw corrupt(this.path, 'bad block magic in block', pos);
        const len = hdr.readUInt32LE(4);
        if (len > MAX_BLOCK_PAYLOAD) throw corrupt(this.path, `implausible block length ${len} in block`, pos);
        const payload = await readExactly(this.fh, len, pos + BLOCK_HEADER);
        if (payload.length < len) throw truncated(this.path, 'block', pos, len - payload.length);
        if (blockCrc(hdr, payload) !== hdr.readUInt32LE(12)) throw corrupt(this.path, 'bad checksum in block', pos);
        yield { offset: pos, recordCount: hdr.readUInt32LE(8), firstKtimeNs: hdr.readBigUInt64LE(16), records: payload };
        pos += BLOCK_HEADER + len;
      }
    } finally {
      await this.fh.close().catch(() => undefined);
    }
  }

  async close(): Promise<void> {
    await this.fh.close().catch(() => undefined);
  }
}
