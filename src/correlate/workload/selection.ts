import type { KubernetesConfig } from '../../config/kubernetes.js';
import { childLogger } from '../../observability/logger.js';
import type { CgroupIndex } from './cgroup-index.js';
import { parseCgroupPath } from './cgroup-path.js';
import type { KubeApi } from './kube-api.js';
import { isEmptySelector, matchesSelector } from './label-selector.js';
import { k8sSelectedCgroups } from './metrics.js';
import type { PodCache } from './pod-cache.js';
import type { Pod } from './pod-types.js';

const log = childLogger('k8s-selection');

export type SelectionConfig = KubernetesConfig['selection'];

/**
 * Which cgroups the kernel watches: the cgroups of pods matching the pod and
 * namespace selectors. As pods come and go (and their containers' cgroups
 * appear), `onAdd`/`onRemove` report the difference; the sensor wires them to
 * its cgroup allow map.
 */
export class Selection {
  private selected = new Set<bigint>();
  private addCbs: Array<(id: bigint) => void> = [];
  private removeCbs: Array<(id: bigint) => void> = [];
  private nsLabels = new Map<string, Record<string, string>>();
  private nsPending = new Set<string>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly pods: PodCache,
    private readonly cgroups: CgroupIndex,
    private readonly cfg: SelectionConfig,
    private readonly api?: KubeApi,
  ) {
    pods.on('upsert', () => this.refresh(true));
    pods.on('delete', () => this.refresh(false));
    pods.on('synced', () => this.refresh(true));
  }

  onAdd(cb: (cgroupId: bigint) => void): void {
    this.addCbs.push(cb);
  }

  onRemove(cb: (cgroupId: bigint) => void): void {
    this.removeCbs.push(cb);
  }

  /** Currently selected cgroup ids. */
  cgroupIds(): bigint[] {
    return [...this.selected];
  }

  /** Containers start after their pod is listed: rescan the hierarchy periodically. */
  start(intervalMs = 2000): void {
    this.timer ??= setInterval(() => this.refresh(true), intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Does this pod count as an agent? */
  matches(pod: Pod): boolean {
    const ns = pod.metadata.namespace ?? 'default';
    const s = this.cfg;
    if (s.namespaces.length > 0 && !s.namespaces.includes(ns)) return false;
    if (s.excludeNamespaces.includes(ns)) return false;
    if (!matchesSelector(s.podSelector, pod.metadata.labels)) return false;
    if (!isEmptySelector(s.namespaceSelector)) {
      const labels = this.nsLabels.get(ns);
      if (!labels) {
        this.fetchNamespace(ns);
        return false; // unknown yet: selected once the namespace's labels arrive
      }
      if (!matchesSelector(s.namespaceSelector, labels)) return false;
    }
    return true;
  }

  /** Provide namespace labels directly (tests, or a namespace informer). */
  setNamespaceLabels(ns: string, labels: Record<string, string>): void {
    this.nsLabels.set(ns, labels);
  }

  private fetchNamespace(ns: string): void {
    if (!this.api || this.nsPending.has(ns)) return;
    this.nsPending.add(ns);
    this.api
      .getJson<{ metadata: { labels?: Record<string, string> } }>(`/api/v1/namespaces/${encodeURIComponent(ns)}`)
      .then(
        (o) => {
          this.nsLabels.set(ns, o.metadata.labels ?? {});
          this.refresh(false);
        },
        (e: Error) => log.warn({ code: 'K8S_NAMESPACE', namespace: ns, err: e.message }, 'cannot read namespace labels'),
      )
      .finally(() => this.nsPending.delete(ns));
  }

  /** Recompute the selected cgroups and report the differences. */
  refresh(rescan: boolean): void {
    if (rescan) this.cgroups.rescan();
    const wanted = new Set<string>();
    for (const p of this.pods.all()) if (this.matches(p)) wanted.add(p.metadata.uid);
    const next = new Set<bigint>();
    if (wanted.size > 0) {
      for (const [id, path] of this.cgroups.entries()) {
        const r = parseCgroupPath(path);
        if (r.podUid && wanted.has(r.podUid) && !r.conmon) next.add(id);
      }
    }
    for (const id of this.selected) if (!next.has(id)) for (const cb of this.removeCbs) cb(id);
    for (const id of next) if (!this.selected.has(id)) for (const cb of this.addCbs) cb(id);
    this.selected = next;
    k8sSelectedCgroups.set(next.size);
  }
}
