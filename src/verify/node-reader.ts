/**
 * Node-only line reader for the verifier: a local log directory (`<dir>/segments/*.jsonl`, in name
 * order) or a single file export. Kept out of index.ts so the library stays browser-safe.
 */
import { createReadStream, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

export interface ReadLine {
  bytes: Uint8Array;
  terminated: boolean;
}

export const SEGMENT_RE = /^[0-9]{20}\.jsonl$/;

/** Segment files of a log directory in sequence order. */
export function segmentFiles(dir: string): string[] {
  const seg = join(dir, 'segments');
  return readdirSync(seg)
    .filter((n) => SEGMENT_RE.test(n))
    .sort()
    .map((n) => join(seg, n));
}

/** Files making up SOURCE: the segments of a log directory, or the file itself. */
export function sourceFiles(source: string): string[] {
  const st = statSync(source);
  if (st.isDirectory()) return segmentFiles(source);
  // A device (/dev/zero) or a FIFO is not a log: refuse rather than read forever.
  if (!st.isFile()) throw Object.assign(new Error(`${source} is not a regular file or a log directory`), { code: 'ENOTREGULAR' });
  return [source];
}

/**
 * Lines of a sequence of files. A line without '\n' at the end of a file is reported as
 * `terminated: false` (a torn write); the verifier flags it.
 */
/** Longest line read (a sealed event is a few KiB; 16 MiB leaves room for huge tool schemas). */
export const MAX_LINE = 16 << 20;

export async function* readLines(files: readonly string[]): AsyncGenerator<ReadLine> {
  for (const file of files) {
    let carry: Buffer | undefined;
    let skipping = false;
    for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
      let buf = carry ? Buffer.concat([carry, chunk]) : chunk;
      let start = 0;
      // No event line is anywhere near MAX_LINE: a longer one (a /dev/zero-like file, a 300 MB
      // line) is reported as one bad line instead of growing memory until it ends.
      if (buf.indexOf(10) < 0 && buf.length > MAX_LINE) {
        if (!skipping) yield { bytes: Buffer.from('\u0000line longer than 16 MiB'), terminated: true };
        skipping = true;
        carry = undefined;
        continue;
      }
      if (skipping) {
        const nl = buf.indexOf(10);
        if (nl < 0) {
          carry = undefined;
          continue;
        }
        start = nl + 1;
        skipping = false;
      }
      for (;;) {
        const nl = buf.indexOf(10, start);
        if (nl < 0) break;
        yield { bytes: buf.subarray(start, nl), terminated: true };
        start = nl + 1;
      }
      carry = start < buf.length ? Buffer.from(buf.subarray(start)) : undefined;
      buf = Buffer.alloc(0);
    }
    if (carry && carry.length > 0) yield { bytes: carry, terminated: false };
  }
}

export function readSource(source: string): AsyncGenerator<ReadLine> {
  return readLines(sourceFiles(source));
}

/**
 * The signed chain head a sensor stores in its log directory (`head.note`, src/seal/signed-head.ts),
 * or undefined for a file export or a directory without one (older sensors).
 */
export function readSignedHead(source: string): string | undefined {
  try {
    if (!statSync(source).isDirectory()) return undefined;
    const path = join(source, 'head.note');
    const st = statSync(path);
    if (!st.isFile() || st.size > 64 * 1024) return undefined;
    // The sensor pads the note with newlines to a fixed record size (rewritten in place).
    return readFileSync(path, 'utf8').replace(/\n+$/, '\n');
  } catch {
    return undefined;
  }
}

/** Read a keyring file (see keyring.ts for the format). */
export async function loadKeyringFile(path: string): Promise<import('./note.js').VerifierKey[]> {
  const { readFile } = await import('node:fs/promises');
  const { parseKeyring } = await import('./keyring.js');
  return parseKeyring(await readFile(path, 'utf8'));
}
