import { readFileSync, readdirSync, statSync, existsSync } from 'node:fs';
import { join } from 'node:path';

/**
 * cgroup id → cgroup path. On cgroup v2 the id the kernel hands BPF
 * (bpf_get_current_cgroup_id) is the kernfs inode number of the cgroup
 * directory, so a walk of the unified hierarchy that records each
 * directory's inode builds the map. Hybrid hosts mount the unified
 * hierarchy at <root>/unified.
 */
export class CgroupIndex {
  private byId = new Map<bigint, string>();
  private lastScan = 0;
  readonly mount: string | undefined;

  constructor(
    cgroupRoot = '/sys/fs/cgroup',
    private readonly minRescanMs = 1000,
  ) {
    this.mount = findUnifiedMount(cgroupRoot);
  }

  /** Walk the hierarchy again. Returns the number of cgroups indexed. */
  rescan(): number {
    const next = new Map<bigint, string>();
    if (this.mount) walk(this.mount, '/', next, 0);
    this.byId = next;
    this.lastScan = Date.now();
    return next.size;
  }

  /** Path relative to the hierarchy root, e.g. `/kubepods.slice/.../cri-containerd-<id>.scope`. */
  pathOf(cgroupId: bigint | number): string | undefined {
    const id = BigInt(cgroupId);
    let p = this.byId.get(id);
    if (p === undefined && Date.now() - this.lastScan >= this.minRescanMs) {
      this.rescan();
      p = this.byId.get(id);
    }
    return p;
  }

  /** Every indexed (id, path) pair; callers filter by parsed pod uid. */
  entries(): IterableIterator<[bigint, string]> {
    return this.byId.entries();
  }
}

const MAX_DEPTH = 16;

function walk(abs: string, rel: string, out: Map<bigint, string>, depth: number): void {
  let st;
  try {
    st = statSync(abs, { bigint: true });
  } catch {
    return; // cgroups vanish while we walk: not an error
  }
  out.set(st.ino, rel);
  if (depth >= MAX_DEPTH) return;
  let names;
  try {
    names = readdirSync(abs, { withFileTypes: true });
  } catch {
    return;
  }
  for (const d of names) {
    if (d.isDirectory()) walk(join(abs, d.name), rel === '/' ? `/${d.name}` : `${rel}/${d.name}`, out, depth + 1);
  }
}

/** The directory holding the cgroup v2 hierarchy under `root`, if any. */
export function findUnifiedMount(root: string): string | undefined {
  // cgroup.controllers exists only at the root of a v2 hierarchy.
  if (existsSync(join(root, 'cgroup.controllers'))) return root;
  const unified = join(root, 'unified');
  if (existsSync(join(unified, 'cgroup.procs'))) return unified;
  // Fall back on mountinfo when the caller passed the default root on an odd layout.
  try {
    for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
      const f = line.split(' ');
      const dash = f.indexOf('-');
      if (dash > 0 && f[dash + 1] === 'cgroup2' && f[4]?.startsWith(root)) return f[4];
    }
  } catch {
    /* no mountinfo: no unified hierarchy */
  }
  return undefined;
}
