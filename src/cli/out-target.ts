import { closeSync, fsyncSync, lstatSync, openSync, realpathSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { AgentrailError } from '../errors.js';

/**
 * Where an output file option (`export --out`, `investigate --html`) really goes: a symlink is
 * written through (its target is replaced, not the link), and anything that is not a regular file
 * (a device such as /dev/full, a FIFO, a directory) is refused, because the output is written to a
 * temporary file and renamed over the target. `code` is the caller's stable error code.
 */
export function outTarget(path: string, option: string, code: string): string {
  let target = path;
  try {
    if (lstatSync(path).isSymbolicLink()) target = realpathSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return path;
    throw new AgentrailError(code, `${option} ${path}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  try {
    if (!statSync(target).isFile()) throw new AgentrailError(code, `${option} ${path} is not a regular file`, { hint: 'name a regular file; a device, FIFO or directory is never replaced' });
  } catch (e) {
    if (e instanceof AgentrailError) throw e;
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new AgentrailError(code, `${option} ${path}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  return target;
}

/** Opens `<target>.tmp-<pid>` exclusively ('wx': a pre-planted file or symlink there is never written through). */
export function openTemp(target: string, option: string, code: string): { fd: number; tmp: string } {
  const tmp = `${target}.tmp-${process.pid}`;
  try {
    return { fd: openSync(tmp, 'wx', 0o644), tmp };
  } catch (e) {
    throw new AgentrailError(code, `${option} ${target}: cannot create ${tmp}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`);
  }
}

/** Writes a whole small file through outTarget/openTemp, fsynced and renamed into place. */
export function writeOutFile(path: string, text: string, option: string, code: string): string {
  const target = outTarget(path, option, code);
  const { fd, tmp } = openTemp(target, option, code);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
    closeSync(fd);
  } catch (e) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw new AgentrailError(code, `${option} ${path}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  renameSync(tmp, target);
  return target;
}
