import { statSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { AgentrailError } from '../errors.js';
import type { SelectionConfig } from '../config/collector.js';
import type { Selection } from './source.js';

/** cgroup v2 mount point; a cgroup's id is the inode number of its directory. */
export const CGROUP_ROOT = '/sys/fs/cgroup';

/** A cgroup given as a numeric id, an absolute path, or a path relative to /sys/fs/cgroup → its id. */
export function resolveCgroup(spec: string | number | bigint): bigint {
  if (typeof spec === 'number' || typeof spec === 'bigint') return BigInt(spec);
  if (/^\d+$/.test(spec)) return BigInt(spec);
  const path = isAbsolute(spec) ? spec : join(CGROUP_ROOT, spec);
  try {
    const st = statSync(path, { bigint: true });
    if (!st.isDirectory()) throw new Error('not a directory');
    return st.ino;
  } catch {
    throw new AgentrailError('USAGE_CGROUP', `cgroup ${spec} not found (looked at ${path})`, {
      hint: 'give a cgroup v2 directory under /sys/fs/cgroup or its numeric id',
    });
  }
}

/** Merge the config's selection with CLI flags (CLI wins when it selects anything). */
export function buildSelection(cfg: SelectionConfig, cli: Partial<{ all: boolean; pids: number[]; cgroups: string[]; comms: string[] }>): Selection {
  const cliSelects = !!cli.all || !!cli.pids?.length || !!cli.cgroups?.length || !!cli.comms?.length;
  const src = cliSelects
    ? { all: !!cli.all, pids: cli.pids ?? [], cgroups: cli.cgroups ?? [], comms: cli.comms ?? [] }
    : { all: cfg.all, pids: cfg.pids, cgroups: cfg.cgroups, comms: cfg.comms };
  for (const c of src.comms) {
    if (Buffer.byteLength(c) > 15) throw new AgentrailError('USAGE_COMM', `--comm ${c} is longer than 15 bytes (the kernel's comm length)`);
  }
  return { all: src.all, pids: [...src.pids], cgroupIds: src.cgroups.map(resolveCgroup), comms: [...src.comms] };
}

export function selectsSomething(s: Selection): boolean {
  return s.all || s.pids.length > 0 || s.cgroupIds.length > 0 || s.comms.length > 0;
}
