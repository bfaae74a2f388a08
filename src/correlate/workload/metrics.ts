import { Counter, Gauge, registry } from '../../observability/metrics.js';

export const k8sApiUp = new Gauge({
  name: 'agentrail_k8s_api_up',
  help: '1 while the last Kubernetes API list/watch call succeeded, 0 after an error',
  registers: [registry],
});

export const k8sPodsCached = new Gauge({
  name: 'agentrail_k8s_pods_cached',
  help: 'Pods on this node held in the pod cache',
  registers: [registry],
});

export const k8sRelists = new Counter({
  name: 'agentrail_k8s_relists_total',
  help: 'Full pod relists after the watch resourceVersion expired (410 Gone)',
  labelNames: ['reason'] as const,
  registers: [registry],
});

export const k8sSelectedCgroups = new Gauge({
  name: 'agentrail_k8s_selected_cgroups',
  help: 'cgroups of selected agent pods currently in the kernel allow map',
  registers: [registry],
});
