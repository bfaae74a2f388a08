import { readlinkSync } from 'node:fs';
import { posix } from 'node:path';
import type { DataAccessFields } from '../contracts/agent-fields.js';

/** A file a process holds open, with the bytes moved through it so far (from fd.io). */
export interface OpenFile {
  pid: number;
  path: string;
  flags: number;
  openNs: bigint;
  read: bigint;
  written: bigint;
}

/** Open files by `pid:fd`, indexed by pid so an exit settles its fds without a scan. */
export class FdTable {
  private readonly byKey = new Map<string, OpenFile>();
  private readonly byPid = new Map<number, Set<string>>();
  get(k: string): OpenFile | undefined {
    return this.byKey.get(k);
  }
  set(k: string, f: OpenFile): void {
    this.byKey.set(k, f);
    let s = this.byPid.get(f.pid);
    if (!s) this.byPid.set(f.pid, (s = new Set()));
    s.add(k);
  }
  delete(k: string): void {
    const f = this.byKey.get(k);
    if (!f) return;
    this.byKey.delete(k);
    const s = this.byPid.get(f.pid);
    s?.delete(k);
    if (s && !s.size) this.byPid.delete(f.pid);
  }
  of(pid: number): Array<[string, OpenFile]> {
    return [...(this.byPid.get(pid) ?? [])].map((k) => [k, this.byKey.get(k)!]);
  }
  all(): Array<[string, OpenFile]> {
    return [...this.byKey];
  }
}

const O_ACCMODE = 3;
const AT_FDCWD = -100;

export function modeOfFlags(flags: number): DataAccessFields['access_mode'] {
  const acc = flags & O_ACCMODE;
  return acc === 0 ? 'read' : acc === 1 ? 'write' : 'read_write';
}

/** The access mode of a closed file: read_write narrowed to what actually moved. */
export function modeOfFile(f: OpenFile): DataAccessFields['access_mode'] {
  const mode = modeOfFlags(f.flags);
  if (mode === 'read_write' && f.written === 0n) return 'read';
  if (mode === 'read_write' && f.read === 0n) return 'write';
  return mode;
}

/**
 * Relative paths resolved against the live cwd when /proc is readable
 * (AT_FDCWD only; other dirfds stay relative). The kernel reports the path
 * as the process passed it; a replay cannot read /proc and keeps it as is.
 */
export function absPath(readProc: boolean, pid: number, path: string, dirfd = AT_FDCWD): string {
  if (!path || path.startsWith('/') || !readProc || dirfd !== AT_FDCWD) return path;
  try {
    return posix.resolve(readlinkSync(`/proc/${pid}/cwd`), path);
  } catch {
    return path;
  }
}
