/**
 * Cores this process may really use: the CPU affinity (os.availableParallelism) capped by the
 * cgroup CPU quota. In Kubernetes a container's CPU limit is a CFS quota, which Node 20's
 * availableParallelism does not see: a sensor limited to one core on a 32-core node must not
 * size its threads for 32 (the chart's default limit is one core).
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';

export type ReadFile = (path: string) => string | undefined;

const readOrUndefined: ReadFile = (path) => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
};

/** Every ancestor of a cgroup path, leaf first ("/a/b" → "/a/b", "/a", ""). */
function ancestors(path: string): string[] {
  const out: string[] = [];
  let p = path.replace(/\/+$/, '');
  for (;;) {
    out.push(p);
    if (p === '') return out;
    p = p.slice(0, p.lastIndexOf('/'));
  }
}

/** cgroup v2 `cpu.max` ("max 100000" | "<quota> <period>") as cores, undefined when unlimited or unreadable. */
function v2Cores(text: string | undefined): number | undefined {
  const m = /^(\d+|max)\s+(\d+)\s*$/.exec(text ?? '');
  if (!m || m[1] === 'max' || Number(m[2]) <= 0) return undefined;
  return Number(m[1]) / Number(m[2]);
}

/** cgroup v1 `cpu.cfs_quota_us` / `cpu.cfs_period_us` as cores (-1 = unlimited). */
function v1Cores(quota: string | undefined, period: string | undefined): number | undefined {
  const q = Number(quota?.trim());
  const p = Number(period?.trim());
  if (!Number.isInteger(q) || q <= 0 || !Number.isInteger(p) || p <= 0) return undefined;
  return q / p;
}

/**
 * The smallest CPU quota on this process's cgroup or any of its ancestors, in cores (may be
 * fractional); undefined when none is set or nothing can be read. cgroup v2 and v1.
 */
export function cgroupCpuQuota(read: ReadFile = readOrUndefined): number | undefined {
  const found: number[] = [];
  for (const line of (read('/proc/self/cgroup') ?? '').split('\n')) {
    const [, controllers, path] = /^\d+:([^:]*):(.*)$/.exec(line) ?? [];
    if (path === undefined) continue;
    if (controllers === '') {
      // v2: /sys/fs/cgroup is the root (or, in a cgroup namespace, this container's cgroup).
      for (const p of ancestors(path)) {
        const c = v2Cores(read(`/sys/fs/cgroup${p}/cpu.max`));
        if (c !== undefined) found.push(c);
      }
    } else if (controllers!.split(',').includes('cpu')) {
      for (const mount of ['/sys/fs/cgroup/cpu,cpuacct', '/sys/fs/cgroup/cpu']) {
        for (const p of ancestors(path)) {
          const c = v1Cores(read(`${mount}${p}/cpu.cfs_quota_us`), read(`${mount}${p}/cpu.cfs_period_us`));
          if (c !== undefined) found.push(c);
        }
      }
    }
  }
  return found.length ? Math.min(...found) : undefined;
}

/** Whole cores usable by this process: affinity capped by the cgroup quota (rounded down, at least 1). */
export function usableCores(read: ReadFile = readOrUndefined, affinity = availableParallelism()): number {
  const quota = cgroupCpuQuota(read);
  return quota === undefined ? affinity : Math.max(1, Math.min(affinity, Math.floor(quota)));
}
