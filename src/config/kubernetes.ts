import { z } from 'zod';

/** Label selector in the Kubernetes shape (matchLabels + matchExpressions). */
export const labelSelectorSchema = z
  .object({
    /** Every key must equal its value. */
    matchLabels: z.record(z.string(), z.string()).prefault({}),
    matchExpressions: z
      .array(
        z
          .object({
            key: z.string().min(1),
            operator: z.enum(['In', 'NotIn', 'Exists', 'DoesNotExist']),
            values: z.array(z.string()).prefault([]),
          })
          .strict(),
      )
      .prefault([]),
  })
  .strict();
export type LabelSelector = z.infer<typeof labelSelectorSchema>;

/** The `kubernetes` section of the configuration. */
export const kubernetesSchema = z
  .object({
    /** Resolve workload identity from Kubernetes at all (off on a plain host). */
    enabled: z.boolean().default(false),
    /** This node's name (the DaemonSet sets it from spec.nodeName via NODE_NAME). */
    nodeName: z.string().default(''),
    /**
     * How to reach the API server: `in-cluster` (service-account token + CA,
     * KUBERNETES_SERVICE_HOST), `kubeconfig` (file below), `none` (no API: only
     * projected tokens read through /proc/<pid>/root).
     */
    api: z.enum(['in-cluster', 'kubeconfig', 'none']).default('in-cluster'),
    kubeconfig: z.string().default(''),
    /** Where the host's /proc is mounted inside the sensor container. */
    procRoot: z.string().default('/proc'),
    /** Where the host's cgroup filesystem is visible. */
    cgroupRoot: z.string().default('/sys/fs/cgroup'),
    /** Backoff bounds for list/watch after API errors. */
    backoffInitialMs: z.number().int().positive().default(500),
    backoffMaxMs: z.number().int().positive().default(30_000),
    /** Server-side watch timeout; the watch is re-opened from the last resourceVersion. */
    watchTimeoutSeconds: z.number().int().positive().default(300),
    /** Read claims of the pod's projected service-account token (never the token itself). */
    readProjectedToken: z.boolean().default(true),
    /** Read cloud federated identity (IRSA, EKS Pod Identity, GCP, Azure) from /proc/<pid>/environ. */
    readCloudIdentity: z.boolean().default(true),
    /** Which pods are agents: both selectors must match. Empty selectors match everything. */
    selection: z
      .object({
        podSelector: labelSelectorSchema.prefault({}),
        namespaceSelector: labelSelectorSchema.prefault({}),
        /** Explicit namespace allow/deny lists (simple alternative to namespaceSelector). */
        namespaces: z.array(z.string()).prefault([]),
        excludeNamespaces: z.array(z.string()).prefault(['kube-system']),
      })
      .strict()
      .prefault({}),
  })
  .strict();
export type KubernetesConfig = z.infer<typeof kubernetesSchema>;
