import { readFileSync } from 'node:fs';
import type { ProcessHint, WorkloadIdentity, WorkloadResolver } from '../workload-resolver.js';
import type { CgroupIndex } from './cgroup-index.js';
import { containerRefFromProcCgroup, parseCgroupPath, type CgroupContainerRef } from './cgroup-path.js';
import type { OwnerResolver } from './owner.js';
import { OwnerResolver as DefaultOwners } from './owner.js';
import type { PodCache } from './pod-cache.js';
import { allContainerStatuses, bareContainerId, type Pod } from './pod-types.js';
import { readCloudIdentity, readProjectedTokenClaims } from './proc-identity.js';

export interface KubernetesResolverOptions {
  procRoot?: string;
  cgroups?: CgroupIndex;
  pods?: PodCache;
  owners?: OwnerResolver;
  nodeName?: string;
  readProjectedToken?: boolean;
  readCloudIdentity?: boolean;
  /** How long an answer per container is reused before /proc is read again. */
  cacheTtlMs?: number;
}

interface Cached {
  at: number;
  id: WorkloadIdentity | undefined;
}

/**
 * WorkloadResolver for Kubernetes nodes: cgroup id (or /proc/<pid>/cgroup) →
 * container id and pod uid → pod from the API cache, or, without API access,
 * the claims of the pod's projected service-account token; plus cloud
 * federated identity from the process environment. Answers are cached per
 * container so resolve() stays cheap on the hot path.
 */
export class KubernetesWorkloadResolver implements WorkloadResolver {
  private readonly procRoot: string;
  private readonly ttl: number;
  private readonly owners: OwnerResolver;
  private cache = new Map<string, Cached>();
  /** cgroup id → answer: cgroup ids are inode numbers, not reused while the cgroup lives, so this skips /proc entirely. */
  private byCgroup = new Map<bigint, Cached>();

  constructor(private readonly opts: KubernetesResolverOptions = {}) {
    this.procRoot = opts.procRoot ?? '/proc';
    this.ttl = opts.cacheTtlMs ?? 30_000;
    this.owners = opts.owners ?? new DefaultOwners();
    const invalidate = (p: Pod) => {
      this.byCgroup.clear();
      this.cache.delete(`pod:${p.metadata.uid}`);
      for (const cs of allContainerStatuses(p)) {
        const c = bareContainerId(cs.containerID);
        if (c) this.cache.delete(`ctr:${c}`);
      }
    };
    opts.pods?.on('upsert', (p: Pod) => {
      invalidate(p);
      // Warm the owner cache (ReplicaSet → Deployment) off the hot path.
      this.owners.refine(p).then(() => invalidate(p), () => undefined);
    });
    opts.pods?.on('delete', invalidate);
  }

  /** Container reference of a process: the cgroup index first, /proc/<pid>/cgroup otherwise. */
  containerRef(pid: number, cgroupId: bigint): CgroupContainerRef {
    const path = this.opts.cgroups?.pathOf(cgroupId);
    if (path !== undefined) {
      const r = parseCgroupPath(path);
      if (r.containerId || r.podUid) return r;
    }
    try {
      return containerRefFromProcCgroup(readFileSync(`${this.procRoot}/${pid}/cgroup`, 'utf8'));
    } catch {
      return {};
    }
  }

  resolve(pid: number, cgroupId: bigint, _hint?: ProcessHint): WorkloadIdentity | undefined {
    const now = Date.now();
    if (cgroupId !== 0n) {
      const c = this.byCgroup.get(cgroupId);
      if (c && now - c.at < this.ttl) return c.id;
    }
    const ref = this.containerRef(pid, cgroupId);
    if (!ref.containerId && !ref.podUid) {
      // Not a pod: the next resolver answers. Remember it, so host processes cost no /proc read per event.
      if (cgroupId !== 0n) this.remember(cgroupId, now, undefined);
      return undefined;
    }
    const key = ref.containerId ? `ctr:${ref.containerId}` : `pod:${ref.podUid}`;
    const hit = this.cache.get(key);
    let id: WorkloadIdentity | undefined;
    if (hit && now - hit.at < this.ttl) id = hit.id;
    else {
      id = this.compute(pid, ref);
      this.cache.set(key, { at: now, id });
    }
    if (cgroupId !== 0n) this.remember(cgroupId, now, id);
    return id;
  }

  private remember(cgroupId: bigint, at: number, id: WorkloadIdentity | undefined): void {
    if (this.byCgroup.size > 65_536) this.byCgroup.clear(); // bound memory on churning nodes
    this.byCgroup.set(cgroupId, { at, id });
  }

  private compute(pid: number, ref: CgroupContainerRef): WorkloadIdentity | undefined {
    const pods = this.opts.pods;
    const pod = (ref.containerId && pods?.byContainerId(ref.containerId)) || (ref.podUid && pods?.get(ref.podUid)) || undefined;
    let id: WorkloadIdentity | undefined;
    if (pod) id = this.fromPod(pod, ref);
    else if (this.opts.readProjectedToken !== false) id = this.fromToken(pid, ref);
    if (!id) return undefined;
    if (this.opts.readCloudIdentity !== false) {
      const fed = readCloudIdentity(this.procRoot, pid);
      if (fed.length > 0) id.federated_identity = fed.map((f) => f.principal).join(',');
    }
    return id;
  }

  private fromPod(pod: Pod, ref: CgroupContainerRef): WorkloadIdentity {
    const ns = pod.metadata.namespace ?? 'default';
    const w = this.owners.workloadOf(pod);
    const id: WorkloadIdentity = {
      workload_id: `k8s:${ns}/${w.kind}/${w.name}`,
      namespace: ns,
      pod: pod.metadata.name,
      pod_uid: pod.metadata.uid,
      service_account: `${ns}/${pod.spec?.serviceAccountName ?? 'default'}`,
    };
    if (ref.containerId) id.container_id = ref.containerId;
    const node = pod.spec?.nodeName ?? this.opts.nodeName;
    if (node) id.node = node;
    if (pod.metadata.labels && Object.keys(pod.metadata.labels).length) id.labels = { ...pod.metadata.labels };
    return id;
  }

  private fromToken(pid: number, ref: CgroupContainerRef): WorkloadIdentity | undefined {
    const c = readProjectedTokenClaims(this.procRoot, pid);
    if (!c?.namespace) return undefined;
    // Without the API the owner is unknown: the pod is the workload.
    const id: WorkloadIdentity = {
      workload_id: `k8s:${c.namespace}/Pod/${c.podName ?? ref.podUid ?? 'unknown'}`,
      namespace: c.namespace,
    };
    if (c.podName) id.pod = c.podName;
    const uid = c.podUid ?? ref.podUid;
    if (uid) id.pod_uid = uid;
    if (ref.containerId) id.container_id = ref.containerId;
    if (c.serviceAccount) id.service_account = `${c.namespace}/${c.serviceAccount}`;
    const node = c.node ?? this.opts.nodeName;
    if (node) id.node = node;
    return id;
  }
}
