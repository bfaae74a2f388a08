/** The subset of the Kubernetes Pod object the sensor reads. */
export interface OwnerReference {
  apiVersion?: string;
  kind: string;
  name: string;
  uid?: string;
  controller?: boolean;
}

export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid: string;
  resourceVersion?: string;
  labels?: Record<string, string>;
  ownerReferences?: OwnerReference[];
  deletionTimestamp?: string;
}

export interface ContainerStatus {
  name: string;
  containerID?: string;
  state?: Record<string, unknown>;
}

export interface Pod {
  metadata: ObjectMeta;
  spec?: { nodeName?: string; serviceAccountName?: string; containers?: Array<{ name: string }> };
  status?: {
    phase?: string;
    qosClass?: string;
    containerStatuses?: ContainerStatus[];
    initContainerStatuses?: ContainerStatus[];
    ephemeralContainerStatuses?: ContainerStatus[];
  };
}

export interface PodList {
  metadata: { resourceVersion?: string; continue?: string };
  items: Pod[];
}

export interface WatchEvent<T> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: T | { kind: 'Status'; code?: number; reason?: string; message?: string };
}

/** Strip the `<runtime>://` prefix of status.containerStatuses[].containerID. */
export function bareContainerId(id: string | undefined): string | undefined {
  if (!id) return undefined;
  const i = id.indexOf('://');
  return i >= 0 ? id.slice(i + 3) : id;
}

export function allContainerStatuses(p: Pod): ContainerStatus[] {
  return [
    ...(p.status?.containerStatuses ?? []),
    ...(p.status?.initContainerStatuses ?? []),
    ...(p.status?.ephemeralContainerStatuses ?? []),
  ];
}
