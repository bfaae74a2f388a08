import { createWriteStream, lstatSync, type WriteStream } from 'node:fs';
import { AgentrailError } from '../errors.js';

/** `run --out FILE` in event mode: a regular file (created or appended) receiving a copy of every sealed event. */
export function openEventCopy(path: string): WriteStream {
  try {
    const st = lstatSync(path);
    if (!st.isFile()) throw new AgentrailError('USAGE_OUT', `--out ${path}: not a regular file`, { hint: 'name a regular file, or - for stdout' });
  } catch (e) {
    if (e instanceof AgentrailError) throw e;
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new AgentrailError('USAGE_OUT', `--out ${path}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  return createWriteStream(path, { flags: 'a' });
}
