/**
 * The signed chain head (docs/integrity.md §4): after every write of sealed lines the sink stores,
 * atomically, a C2SP tlog-checkpoint note over the chain as written so far (tree size = sequence of
 * the last line, its root, and `agentrail-head <leaf hash of that line>`), signed with the sealer's
 * key. On restart the sealer adopts only lines covered by a signature (a checkpoint in the log or
 * this head); an attacker who appends correctly chained lines while the sensor is dead cannot make
 * them covered without the key. The note is an ordinary checkpoint of the log, so `verify` and any
 * C2SP tooling check it like one kept elsewhere.
 */
import { createPublicKey, verify } from 'node:crypto';
import { closeSync, constants, fdatasyncSync, fstatSync, ftruncateSync, openSync, readSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { KeySet, SigningKey } from './keys.js';
import { signBytes } from './keys.js';
import { countStageError } from '../observability/metrics.js';

export const HEAD_FILE = 'head.note';
/** Note extension line naming the leaf hash of the last event the head covers. */
export const HEAD_LINE = 'agentrail-head';
/** A note is a few hundred bytes; anything larger in the head file is not ours. */
const MAX_HEAD_BYTES = 64 * 1024;

export interface SignedHead {
  size: number;
  root: Buffer;
  /** Leaf hash of event `size`, hex. */
  head: string;
}

export function formatHeadNote(origin: string, size: number, root: Buffer, leaf: Buffer, key: SigningKey): string {
  const body = `${origin}\n${size}\n${root.toString('base64')}\n${HEAD_LINE} ${leaf.toString('hex')}\n`;
  const sig = Buffer.concat([key.keyIdBytes, signBytes(key, Buffer.from(body, 'utf8'))]).toString('base64');
  return `${body}\n\u2014 ${key.name} ${sig}\n`;
}

/**
 * Parse and check a head note against the sealer's own keys and origin. Returns the head, or a
 * reason code (never content) when it is malformed, not signed by one of our keys, or of another log.
 */
export function checkHeadNote(text: string, keys: KeySet, origin: string): SignedHead | string {
  const split = text.indexOf('\n\n');
  if (split < 0) return 'BAD_NOTE';
  const body = text.slice(0, split + 1);
  const lines = body.split('\n');
  if (lines.length !== 5 || lines[4] !== '') return 'BAD_NOTE';
  const [o, sizeS, rootB64, ext] = lines as [string, string, string, string];
  if (o !== origin) return 'ORIGIN_MISMATCH';
  if (!/^[1-9][0-9]{0,15}$/.test(sizeS) || !ext.startsWith(`${HEAD_LINE} `)) return 'BAD_NOTE';
  const head = ext.slice(HEAD_LINE.length + 1);
  const root = Buffer.from(rootB64, 'base64');
  if (!/^[0-9a-f]{64}$/.test(head) || root.length !== 32 || root.toString('base64') !== rootB64) return 'BAD_NOTE';
  const bodyBytes = Buffer.from(body, 'utf8');
  for (const sigLine of text.slice(split + 2).split('\n')) {
    const m = /^\u2014 (\S+) (\S+)$/u.exec(sigLine);
    if (!m) continue;
    const blob = Buffer.from(m[2]!, 'base64');
    if (blob.length !== 68) continue;
    for (const k of keys.all()) {
      if (k.name !== m[1] || !k.keyIdBytes.equals(blob.subarray(0, 4))) continue;
      const pub = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: k.publicKey.toString('base64url') }, format: 'jwk' });
      if (verify(null, bodyBytes, pub, blob.subarray(4))) return { size: Number(sizeS), root, head };
    }
  }
  return 'UNKNOWN_KEY';
}

/** Trailing newlines pad the head file to a fixed record size; a reader drops them. */
export function unpadHead(text: string): string {
  return text.replace(/\n+$/, '\n');
}

/** The head file is rewritten in place, in one write of this many bytes or a multiple of it. */
const RECORD = 1024;

/**
 * The head file of a log directory, for its writer: the sealer's signer is called before each write
 * (its state is then the end of what is being written), the note stored right after it, and fsynced
 * with the log. The note is rewritten in place with one pwrite of a fixed-size record (padded with
 * newlines): a SIGKILL leaves the old or the new note, and it costs microseconds where a temp file +
 * rename costs milliseconds on ext4 (rename-over forces a flush). A torn record after a power loss
 * fails its signature check, so recovery then adopts nothing beyond the last checkpoint. A failure
 * (full disk) is counted and reported once through `onError`; the lines it leaves unvouched are
 * quarantined by the next recovery, never adopted.
 */
export class HeadFile {
  private readonly path: string;
  private fd: number | undefined;
  private recordBytes = 0;
  private dirty = false;
  private signer: (() => string) | undefined;
  private failed = false;

  constructor(
    readonly dir: string,
    private readonly onError: (code: string) => void = () => undefined,
  ) {
    this.path = join(dir, HEAD_FILE);
  }

  /** The stored note, or undefined when there is none (or it is not a small regular file). */
  read(): string | undefined {
    let fd: number;
    try {
      fd = openSync(this.path, 'r');
    } catch {
      return undefined;
    }
    try {
      const st = fstatSync(fd);
      if (!st.isFile() || st.size > MAX_HEAD_BYTES) return undefined;
      const b = Buffer.alloc(st.size);
      const n = readSync(fd, b, 0, b.length, 0);
      return unpadHead(b.subarray(0, n).toString('utf8'));
    } finally {
      closeSync(fd);
    }
  }

  setSigner(sign: () => string): void {
    this.signer = sign;
  }

  /** A note over the chain as it will be once the pending lines are written; undefined without a signer. */
  sign(): string | undefined {
    if (!this.signer) return undefined;
    try {
      return this.signer();
    } catch (e) {
      this.fail(e);
      return undefined;
    }
  }

  /** Replace the stored note (after the lines it covers were written). */
  store(note: string): void {
    try {
      const body = Buffer.from(note, 'utf8');
      const size = Math.ceil((body.length + 1) / RECORD) * RECORD;
      const rec = Buffer.alloc(size, 0x0a);
      body.copy(rec);
      this.fd ??= openSync(this.path, constants.O_RDWR | constants.O_CREAT, 0o644);
      if (writeSync(this.fd, rec, 0, rec.length, 0) !== rec.length) throw Object.assign(new Error('short write'), { code: 'EIO' });
      if (size < this.recordBytes) ftruncateSync(this.fd, size);
      this.recordBytes = size;
      this.dirty = true;
      this.failed = false;
    } catch (e) {
      this.fail(e);
    }
  }

  /** Make the last stored note durable (called after the log's own fdatasync). */
  sync(): void {
    if (!this.dirty || this.fd === undefined) return;
    this.dirty = false;
    try {
      fdatasyncSync(this.fd);
    } catch (e) {
      this.fail(e);
    }
  }

  close(): void {
    if (this.fd === undefined) return;
    closeSync(this.fd);
    this.fd = undefined;
  }

  private fail(e: unknown): void {
    countStageError('sink', 'head_write_failed');
    if (this.failed) return;
    this.failed = true;
    this.onError((e as NodeJS.ErrnoException).code ?? 'error');
  }
}
