import type { KubernetesConfig } from '../../config/kubernetes.js';
import { AgentrailError } from '../../errors.js';
import { childLogger } from '../../observability/logger.js';
import { CgroupIndex } from './cgroup-index.js';
import { KubeApi, inClusterOptions, kubeconfigOptions } from './kube-api.js';
import { KubernetesWorkloadResolver } from './kubernetes-resolver.js';
import { OwnerResolver } from './owner.js';
import { PodCache } from './pod-cache.js';
import { Selection } from './selection.js';

const log = childLogger('k8s');

export interface KubernetesIdentity {
  resolver: KubernetesWorkloadResolver;
  /** Present when the API is reachable (selection needs the pod list). */
  selection?: Selection;
  pods?: PodCache;
  /** True once the first pod list arrived (or at once without API): a readiness check. */
  ready(): boolean;
  stop(): Promise<void>;
}

/**
 * Wire the Kubernetes side from the `kubernetes` config section: API client,
 * pod cache (list + watch of this node's pods), cgroup index, resolver and
 * agent selection. The caller connects selection.onAdd/onRemove to the
 * sensor's cgroup allow map and chains the resolver before the host one.
 */
export function startKubernetesIdentity(cfg: KubernetesConfig, env: NodeJS.ProcessEnv = process.env): KubernetesIdentity {
  const nodeName = cfg.nodeName || env.NODE_NAME || '';
  const cgroups = new CgroupIndex(cfg.cgroupRoot);
  cgroups.rescan();
  let api: KubeApi | undefined;
  if (cfg.api !== 'none') {
    if (!nodeName) {
      throw new AgentrailError('K8S_NO_NODE_NAME', 'kubernetes.nodeName is empty and NODE_NAME is not set', {
        hint: 'set NODE_NAME from spec.nodeName (the Helm chart does) or kubernetes.api: none',
      });
    }
    api = new KubeApi(cfg.api === 'kubeconfig' ? kubeconfigOptions(cfg.kubeconfig) : inClusterOptions(env));
  }
  const pods = api
    ? new PodCache(api, {
        nodeName,
        backoffInitialMs: cfg.backoffInitialMs,
        backoffMaxMs: cfg.backoffMaxMs,
        watchTimeoutSeconds: cfg.watchTimeoutSeconds,
      })
    : undefined;
  const resolver = new KubernetesWorkloadResolver({
    procRoot: cfg.procRoot,
    cgroups,
    pods,
    owners: new OwnerResolver(api),
    nodeName,
    readProjectedToken: cfg.readProjectedToken,
    readCloudIdentity: cfg.readCloudIdentity,
  });
  const selection = pods ? new Selection(pods, cgroups, cfg.selection, api) : undefined;
  pods?.start();
  selection?.start();
  log.info({ nodeName, api: cfg.api, cgroupMount: cgroups.mount ?? null }, 'kubernetes identity started');
  return {
    resolver,
    selection,
    pods,
    ready: () => (pods ? pods.hasSynced : true),
    async stop() {
      selection?.stop();
      await pods?.stop();
    },
  };
}
