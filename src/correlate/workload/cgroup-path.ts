/**
 * Parse cgroup paths written by container runtimes into container id, runtime
 * and pod uid. Covers cgroup v1 and v2, the systemd and cgroupfs drivers, and
 * the containerd, CRI-O and Docker naming schemes, e.g.
 *   systemd:  /kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod<uid_>.slice/cri-containerd-<id>.scope
 *   cgroupfs: /kubepods/burstable/pod<uid>/<id>
 *   docker:   /system.slice/docker-<id>.scope, /docker/<id>
 */

export type ContainerRuntime = 'containerd' | 'cri-o' | 'docker' | 'unknown';
export type QosClass = 'Guaranteed' | 'Burstable' | 'BestEffort';

export interface CgroupContainerRef {
  /** 64 hex chars (the runtime's full container id), when the path names one. */
  containerId?: string;
  runtime?: ContainerRuntime;
  /** Pod uid in canonical dashed form (systemd slices spell it with underscores). */
  podUid?: string;
  qos?: QosClass;
  /** True for CRI-O's conmon monitor scope, which is not the workload container. */
  conmon?: boolean;
}

const HEX64 = /^[0-9a-f]{64}$/;
const UID_RE = /^[0-9a-f]{8}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{12}$/;

/** Scope or directory names that carry a container id, with their runtime. */
const SCOPE_PATTERNS: Array<[RegExp, ContainerRuntime, boolean?]> = [
  [/^cri-containerd-([0-9a-f]{64})\.scope$/, 'containerd'],
  [/^crio-conmon-([0-9a-f]{64})\.scope$/, 'cri-o', true],
  [/^crio-([0-9a-f]{64})\.scope$/, 'cri-o'],
  [/^docker-([0-9a-f]{64})\.scope$/, 'docker'],
  [/^cri-dockerd-([0-9a-f]{64})\.scope$/, 'docker'],
  [/^crio-([0-9a-f]{64})$/, 'cri-o'],
];

function normUid(raw: string): string | undefined {
  if (!UID_RE.test(raw)) return undefined;
  return raw.replace(/_/g, '-');
}

function qosOf(s: string): QosClass | undefined {
  if (s === 'burstable') return 'Burstable';
  if (s === 'besteffort') return 'BestEffort';
  return undefined;
}

/** Parse one cgroup path (the part after `N:controllers:` in /proc/<pid>/cgroup). */
export function parseCgroupPath(path: string): CgroupContainerRef {
  const out: CgroupContainerRef = {};
  // containerd with the systemd driver on cgroup v1 writes "<pod>.slice:<prefix>:<id>":
  // split it into the slice and the scope name the v2 layout would use.
  const parts = path
    .split('/')
    .filter((p) => p.length > 0)
    .flatMap((p) => {
      const m = /^(.+\.slice):(cri-containerd|crio|docker):([0-9a-f]{64})$/.exec(p);
      return m ? [m[1]!, `${m[2]}-${m[3]}.scope`] : [p];
    });
  let sawKubepods = false;
  let parentIsDocker = false;
  let parentIsRuntimeNs = false;
  for (const part of parts) {
    // systemd driver: kubepods-burstable-pod<uid>.slice, kubepods-pod<uid>.slice (Guaranteed)
    const sysPod = /^(?:.*-)?kubepods(?:-(burstable|besteffort))?-pod([0-9a-f_-]{36})\.slice$/.exec(part);
    if (sysPod) {
      sawKubepods = true;
      const uid = normUid(sysPod[2]!);
      if (uid) out.podUid = uid;
      out.qos = qosOf(sysPod[1] ?? '') ?? 'Guaranteed';
      continue;
    }
    if (/^(?:.*-)?kubepods(?:-(burstable|besteffort))?\.slice$/.test(part) || part === 'kubepods') {
      sawKubepods = true;
      continue;
    }
    // cgroupfs driver: /kubepods/burstable/pod<uid>/<id>
    if (sawKubepods && (part === 'burstable' || part === 'besteffort')) {
      out.qos = qosOf(part);
      continue;
    }
    const fsPod = /^pod([0-9a-f_-]{36})$/.exec(part);
    if (fsPod && sawKubepods) {
      const uid = normUid(fsPod[1]!);
      if (uid) out.podUid = uid;
      if (!out.qos) out.qos = 'Guaranteed';
      continue;
    }
    let matched = false;
    for (const [re, runtime, conmon] of SCOPE_PATTERNS) {
      const m = re.exec(part);
      if (m) {
        out.containerId = m[1];
        out.runtime = runtime;
        if (conmon) out.conmon = true;
        matched = true;
        break;
      }
    }
    if (matched) continue;
    if (HEX64.test(part)) {
      out.containerId = part;
      // cgroupfs names carry no runtime; /docker/<id> does, /k8s.io/<id> is containerd's namespace.
      out.runtime = parentIsDocker ? 'docker' : parentIsRuntimeNs ? 'containerd' : 'unknown';
      continue;
    }
    parentIsDocker = part === 'docker';
    parentIsRuntimeNs = part === 'k8s.io';
  }
  return out;
}

export interface ProcCgroupLine {
  hierarchy: number;
  controllers: string[];
  path: string;
}

/** Split /proc/<pid>/cgroup text into lines (v1 and v2 formats). */
export function parseProcCgroupText(text: string): ProcCgroupLine[] {
  const out: ProcCgroupLine[] = [];
  for (const line of text.split('\n')) {
    if (!line) continue;
    const a = line.indexOf(':');
    const b = line.indexOf(':', a + 1);
    if (a < 0 || b < 0) continue;
    const hierarchy = Number(line.slice(0, a));
    const ctl = line.slice(a + 1, b);
    out.push({ hierarchy, controllers: ctl ? ctl.split(',') : [], path: line.slice(b + 1) });
  }
  return out;
}

/**
 * The container reference of a process from its /proc/<pid>/cgroup: the v2
 * line (`0::`) when it names a container, else the first v1 line that does.
 */
export function containerRefFromProcCgroup(text: string): CgroupContainerRef & { path?: string } {
  const lines = parseProcCgroupText(text);
  const ordered = [...lines.filter((l) => l.hierarchy === 0), ...lines.filter((l) => l.hierarchy !== 0)];
  let best: (CgroupContainerRef & { path?: string }) | undefined;
  for (const l of ordered) {
    const r = parseCgroupPath(l.path);
    if (r.containerId || r.podUid) {
      if (r.containerId) return { ...r, path: l.path };
      best ??= { ...r, path: l.path };
    }
  }
  return best ?? {};
}
