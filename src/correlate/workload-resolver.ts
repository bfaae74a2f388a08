import { hostname } from 'node:os';

/**
 * Who a traced process runs as, beyond its pid. The correlate stage asks a
 * resolver for every process it attributes an event to; the Kubernetes
 * resolver (src/correlate/workload/) answers from cgroup → container → pod,
 * the host resolver below answers on a plain machine. Values are identifiers,
 * never secrets: a service-account token is reduced to its claims upstream.
 */
export interface WorkloadIdentity {
  /** Stable id of the workload, the seed's `workload_id`:
   *  `k8s:<namespace>/<owner kind>/<owner name>` or `host:<hostname>/<comm or exe>`. */
  workload_id: string;
  namespace?: string;
  pod?: string;
  pod_uid?: string;
  container_id?: string;
  /** Kubernetes service account (`<namespace>/<name>`) or, on a host, `unix:uid:<n>`. */
  service_account?: string;
  /** Cloud identity the workload can assume (`aws:arn:…`, `gcp:<sa email>`, `azure:<client id>`). */
  federated_identity?: string;
  node?: string;
  labels?: Record<string, string>;
}

/** What the correlate stage knows about the process (the session root's name for host resolution). */
export interface ProcessHint {
  comm?: string;
  exe?: string;
  uid?: number;
}

export interface WorkloadResolver {
  /** Synchronous and cheap: resolvers cache; `undefined` lets the next resolver answer. */
  resolve(pid: number, cgroupId: bigint, hint?: ProcessHint): WorkloadIdentity | undefined;
}

/** Plain host: `host:<hostname>/<comm or exe basename>`. */
export class HostWorkloadResolver implements WorkloadResolver {
  private readonly host: string;
  constructor(host: string = hostname()) {
    this.host = host;
  }
  resolve(_pid: number, _cgroupId: bigint, hint?: ProcessHint): WorkloadIdentity {
    const exeBase = hint?.exe ? hint.exe.slice(hint.exe.lastIndexOf('/') + 1) : undefined;
    const name = hint?.comm || exeBase || 'unknown';
    const id: WorkloadIdentity = { workload_id: `host:${this.host}/${name}`, node: this.host };
    if (hint?.uid !== undefined) id.service_account = `unix:uid:${hint.uid}`;
    return id;
  }
}

/** First resolver that answers wins (e.g. Kubernetes, then host). */
export class ChainWorkloadResolver implements WorkloadResolver {
  constructor(private readonly resolvers: WorkloadResolver[]) {}
  resolve(pid: number, cgroupId: bigint, hint?: ProcessHint): WorkloadIdentity | undefined {
    for (const r of this.resolvers) {
      const id = r.resolve(pid, cgroupId, hint);
      if (id) return id;
    }
    return undefined;
  }
}
