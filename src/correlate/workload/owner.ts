import type { KubeApi } from './kube-api.js';
import type { OwnerReference, Pod } from './pod-types.js';

export interface Workload {
  kind: string;
  name: string;
}

/**
 * The top-level workload of a pod through owner references:
 * ReplicaSet → Deployment, Job → CronJob, StatefulSet, DaemonSet as-is; a bare
 * pod is its own workload. The synchronous answer uses the naming
 * conventions (ReplicaSet = <deployment>-<pod-template-hash>); `refine` asks
 * the API for the owner's own ownerReferences and caches the answer.
 */
export class OwnerResolver {
  private cache = new Map<string, Workload>();
  constructor(private readonly api?: KubeApi) {}

  /** Immediate answer from the cache or naming conventions. */
  workloadOf(pod: Pod): Workload {
    const ref = controllerRef(pod);
    if (!ref) return { kind: 'Pod', name: pod.metadata.name };
    const cached = this.cache.get(key(pod.metadata.namespace, ref));
    if (cached) return cached;
    return guess(pod, ref);
  }

  /** Look the owner's owner up through the API (ReplicaSet, Job), cached. */
  async refine(pod: Pod): Promise<Workload> {
    const ref = controllerRef(pod);
    if (!ref || !this.api) return this.workloadOf(pod);
    const k = key(pod.metadata.namespace, ref);
    const hit = this.cache.get(k);
    if (hit) return hit;
    const ns = encodeURIComponent(pod.metadata.namespace ?? 'default');
    const name = encodeURIComponent(ref.name);
    let path: string | undefined;
    if (ref.kind === 'ReplicaSet') path = `/apis/apps/v1/namespaces/${ns}/replicasets/${name}`;
    else if (ref.kind === 'Job') path = `/apis/batch/v1/namespaces/${ns}/jobs/${name}`;
    let w: Workload = { kind: ref.kind, name: ref.name };
    if (path) {
      try {
        const owner = await this.api.getJson<{ metadata: { ownerReferences?: OwnerReference[] } }>(path);
        const up = owner.metadata.ownerReferences?.find((o) => o.controller) ?? owner.metadata.ownerReferences?.[0];
        if (up) w = { kind: up.kind, name: up.name };
      } catch {
        return guess(pod, ref); // API unreachable or RBAC missing: conventions only, not cached
      }
    }
    this.cache.set(k, w);
    return w;
  }
}

function key(ns: string | undefined, ref: OwnerReference): string {
  return `${ns ?? ''}/${ref.kind}/${ref.name}`;
}

export function controllerRef(pod: Pod): OwnerReference | undefined {
  const refs = pod.metadata.ownerReferences ?? [];
  return refs.find((r) => r.controller) ?? refs[0];
}

function guess(pod: Pod, ref: OwnerReference): Workload {
  if (ref.kind === 'ReplicaSet') {
    const hash = pod.metadata.labels?.['pod-template-hash'];
    if (hash && ref.name.endsWith(`-${hash}`)) return { kind: 'Deployment', name: ref.name.slice(0, -hash.length - 1) };
  }
  if (ref.kind === 'Job') {
    // CronJob jobs are named <cronjob>-<scheduled minutes since epoch>.
    const m = /^(.+)-(\d{8,10})$/.exec(ref.name);
    if (m) return { kind: 'CronJob', name: m[1]! };
  }
  return { kind: ref.kind, name: ref.name };
}
