import { EventEmitter } from 'node:events';
import { childLogger } from '../../observability/logger.js';
import { countStageError } from '../../observability/metrics.js';
import { KubeApi, KubeApiError } from './kube-api.js';
import { allContainerStatuses, bareContainerId, type Pod, type PodList, type WatchEvent } from './pod-types.js';
import { k8sApiUp, k8sPodsCached, k8sRelists } from './metrics.js';

const log = childLogger('k8s');

export interface PodCacheOptions {
  nodeName: string;
  backoffInitialMs?: number;
  backoffMaxMs?: number;
  watchTimeoutSeconds?: number;
  pageSize?: number;
}

/**
 * Pods on this node, kept by list + watch (fieldSelector spec.nodeName).
 * Watches resume from the last resourceVersion (bookmarks keep it fresh);
 * 410 Gone relists and diffs against the cache so deletions missed while
 * away are still seen. API outages back off exponentially and the cache keeps
 * serving what it last knew.
 *
 * Events: 'upsert' (pod), 'delete' (pod), 'synced' (after each full list).
 */
export class PodCache extends EventEmitter {
  private pods = new Map<string, Pod>();
  private byContainer = new Map<string, string>();
  private rv: string | undefined;
  private abort = new AbortController();
  private running = false;
  private loop: Promise<void> | undefined;
  private synced = false;
  /** Consecutive failures, for backoff. */
  private failures = 0;

  constructor(
    private readonly api: KubeApi,
    private readonly opts: PodCacheOptions,
  ) {
    super();
  }

  get hasSynced(): boolean {
    return this.synced;
  }

  get(uid: string): Pod | undefined {
    return this.pods.get(uid);
  }

  byContainerId(id: string): Pod | undefined {
    const uid = this.byContainer.get(id);
    return uid ? this.pods.get(uid) : undefined;
  }

  all(): Pod[] {
    return [...this.pods.values()];
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.abort = new AbortController();
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.abort.abort();
    await this.loop;
  }

  /** Resolves once the first list succeeded (or rejects on timeout). */
  waitForSync(timeoutMs = 30_000): Promise<void> {
    if (this.synced) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`pod cache not synced after ${timeoutMs} ms`)), timeoutMs);
      this.once('synced', () => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  private selector(): string {
    return `fieldSelector=${encodeURIComponent(`spec.nodeName=${this.opts.nodeName}`)}`;
  }

  private async run(): Promise<void> {
    while (this.running) {
      try {
        if (this.rv === undefined) await this.relist();
        await this.watchOnce();
        this.failures = 0;
      } catch (e) {
        if (!this.running) break;
        if (e instanceof KubeApiError && e.status === 410) {
          // Our resourceVersion is too old: relist at once, no backoff.
          this.rv = undefined;
          k8sRelists.inc({ reason: 'gone' });
          log.info({ code: 'K8S_GONE' }, 'watch resourceVersion expired; relisting');
          continue;
        }
        this.failures++;
        k8sApiUp.set(0);
        countStageError('k8s', e instanceof KubeApiError ? `http_${e.status}` : 'network');
        const delay = this.backoff();
        log.warn({ code: (e as { code?: string }).code ?? 'K8S_API', attempt: this.failures, delayMs: delay, err: (e as Error).message }, 'kubernetes API error; backing off');
        await this.sleep(delay);
      }
    }
  }

  private backoff(): number {
    const base = this.opts.backoffInitialMs ?? 500;
    const max = this.opts.backoffMaxMs ?? 30_000;
    const exp = Math.min(max, base * 2 ** Math.min(this.failures - 1, 20));
    // Full jitter keeps a fleet of DaemonSet pods from hammering the API in step.
    return Math.round(exp / 2 + Math.random() * (exp / 2));
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(resolve, ms);
      this.abort.signal.addEventListener('abort', () => {
        clearTimeout(t);
        resolve();
      }, { once: true });
    });
  }

  /** Full list (paginated); replaces the cache and emits the differences. */
  async relist(): Promise<void> {
    const seen = new Map<string, Pod>();
    let cont: string | undefined;
    let rv: string | undefined;
    do {
      const q = `/api/v1/pods?${this.selector()}&limit=${this.opts.pageSize ?? 500}${cont ? `&continue=${encodeURIComponent(cont)}` : ''}`;
      const list = await this.api.getJson<PodList>(q, this.abort.signal);
      for (const p of list.items) seen.set(p.metadata.uid, p);
      cont = list.metadata.continue || undefined;
      rv = list.metadata.resourceVersion;
    } while (cont);
    for (const [uid, old] of this.pods) if (!seen.has(uid)) this.remove(old);
    for (const p of seen.values()) this.upsert(p);
    this.rv = rv;
    this.synced = true;
    k8sApiUp.set(1);
    this.emit('synced');
  }

  private async watchOnce(): Promise<void> {
    const q =
      `/api/v1/pods?watch=1&${this.selector()}&allowWatchBookmarks=true` +
      `&timeoutSeconds=${this.opts.watchTimeoutSeconds ?? 300}&resourceVersion=${encodeURIComponent(this.rv ?? '')}`;
    for await (const ev of this.api.watch<WatchEvent<Pod>>(q, this.abort.signal)) {
      k8sApiUp.set(1);
      const obj = ev.object as Pod & { kind?: string; code?: number };
      if (ev.type === 'ERROR') {
        if (obj.code === 410) throw new KubeApiError(410, 'watch expired (410 Gone)');
        throw new KubeApiError(obj.code ?? 500, `watch error ${obj.code ?? ''}`);
      }
      if (obj.metadata?.resourceVersion) this.rv = obj.metadata.resourceVersion;
      if (ev.type === 'BOOKMARK') continue;
      if (ev.type === 'DELETED') this.remove(obj);
      else this.upsert(obj);
    }
  }

  private upsert(p: Pod): void {
    const uid = p.metadata.uid;
    const old = this.pods.get(uid);
    if (old) for (const cs of allContainerStatuses(old)) {
      const id = bareContainerId(cs.containerID);
      if (id) this.byContainer.delete(id);
    }
    this.pods.set(uid, p);
    for (const cs of allContainerStatuses(p)) {
      const id = bareContainerId(cs.containerID);
      if (id) this.byContainer.set(id, uid);
    }
    k8sPodsCached.set(this.pods.size);
    this.emit('upsert', p);
  }

  private remove(p: Pod): void {
    const uid = p.metadata.uid;
    const old = this.pods.get(uid) ?? p;
    for (const cs of allContainerStatuses(old)) {
      const id = bareContainerId(cs.containerID);
      if (id) this.byContainer.delete(id);
    }
    if (this.pods.delete(uid)) {
      k8sPodsCached.set(this.pods.size);
      this.emit('delete', old);
    }
  }
}
