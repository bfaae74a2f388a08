import { closeSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { AgentrailError } from '../errors.js';

/**
 * One writer per log directory. Two sensors on one directory would interleave
 * lines of two chains (the next start then refuses the directory). The lock is
 * a file created with O_EXCL holding the owner's pid and its start time (from
 * /proc/<pid>/stat), so a lock left by a SIGKILLed sensor — or by a sensor of
 * another pid namespace whose pid now names some other process — is
 * recognised as stale and taken over atomically (rename, then O_EXCL again).
 */
export interface DirLock {
  path: string;
  release(): void;
}

const LOCK = 'agentrail.lock';

function startTime(pid: number): string | undefined {
  try {
    const st = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return st.slice(st.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

interface Owner {
  pid: number;
  start: string | undefined;
  host: string | undefined;
}

function readOwner(path: string): Owner | undefined {
  try {
    const o = JSON.parse(readFileSync(path, 'utf8').slice(0, 4096)) as Partial<Owner>;
    return typeof o.pid === 'number' ? { pid: o.pid, start: o.start, host: o.host } : undefined;
  } catch {
    return undefined;
  }
}

function alive(o: Owner): boolean {
  const now = startTime(o.pid);
  return now !== undefined && now === o.start;
}

export function lockLogDir(dir: string): DirLock {
  const path = join(dir, LOCK);
  const me = JSON.stringify({ pid: process.pid, start: startTime(process.pid), host: process.env.HOSTNAME ?? null, at: new Date().toISOString() });
  for (let attempt = 0; attempt < 3; attempt++) {
    let fd: number | undefined;
    try {
      fd = openSync(path, 'wx', 0o600);
      writeSync(fd, me);
      closeSync(fd);
      let released = false;
      return {
        path,
        release() {
          if (released) return;
          released = true;
          // Only our own lock is removed (a takeover after a stall must not be undone).
          if (readOwner(path)?.pid === process.pid) {
            try {
              unlinkSync(path);
            } catch {
              /* already gone */
            }
          }
        },
      };
    } catch (e) {
      if (fd !== undefined) closeSync(fd);
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new AgentrailError('PERM_LOG_DIR', `cannot lock local log directory ${dir}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`, { cause: e });
      }
    }
    const owner = readOwner(path);
    if (owner && alive(owner)) {
      throw new AgentrailError('LOG_LOCKED', `local log directory ${dir} is in use by another agentrail (pid ${owner.pid})`, {
        hint: 'one sensor per log directory: stop the other one or give this one its own sink.local.dir',
      });
    }
    // Stale (dead owner, or unreadable): move it aside atomically; a concurrent starter loses the rename.
    try {
      renameSync(path, `${path}.stale-${randomBytes(4).toString('hex')}`);
    } catch {
      /* another starter took it over first: retry the exclusive create */
    }
  }
  throw new AgentrailError('LOG_LOCKED', `cannot take the lock of local log directory ${dir}`, { hint: 'another sensor is starting on the same directory' });
}
