import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ServerResponse } from 'node:http';
import { repoRoot } from '../../../src/paths.js';
import { KubeApi, kubeconfigOptions } from '../../../src/correlate/workload/kube-api.js';
import { PodCache } from '../../../src/correlate/workload/pod-cache.js';
import { OwnerResolver } from '../../../src/correlate/workload/owner.js';
import { KubernetesWorkloadResolver } from '../../../src/correlate/workload/kubernetes-resolver.js';
import { CgroupIndex } from '../../../src/correlate/workload/cgroup-index.js';
import { Selection } from '../../../src/correlate/workload/selection.js';
import { parseConfig } from '../../../src/config/load.js';
import type { Pod, PodList } from '../../../src/correlate/workload/pod-types.js';
import { registry } from '../../../src/observability/metrics.js';
import { FakeKubeApi, json, selfSignedCert, status } from './fake-kube-api.js';

const podList = JSON.parse(readFileSync(join(repoRoot, 'test/fixtures/k8s/pod-list.json'), 'utf8')) as PodList;
const [agentPod, cronPod, webPod] = podList.items as [Pod, Pod, Pod];
const AGENT_UID = agentPod.metadata.uid;
const TOKEN = 'test-bearer-0123456789';

function clone<T>(o: T): T {
  return JSON.parse(JSON.stringify(o)) as T;
}

function until(cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const tick = () => {
      if (cond()) resolve();
      else if (Date.now() > end) reject(new Error('condition not reached'));
      else setTimeout(tick, 10);
    };
    tick();
  });
}

function line(res: ServerResponse, type: string, object: unknown): void {
  res.write(JSON.stringify({ type, object }) + '\n');
}

test('pod cache: paginated list, watch ADDED/MODIFIED/DELETED/BOOKMARK, 410 relist, outage backoff; resolver and selection follow', async (t) => {
  const tls = selfSignedCert();
  const newPod = clone(agentPod);
  newPod.metadata = { ...newPod.metadata, name: 'research-agent-7c9f8d6b5-n3w00', uid: '8d4c1b5f-6e7a-4192-8d3e-4f5a6b7c8d9e', resourceVersion: '1004' };
  newPod.status!.containerStatuses![0]!.containerID = 'containerd://' + 'b'.repeat(64);
  let listCalls = 0;
  let watchCalls = 0;
  let phase = 1;
  const api = new FakeKubeApi(tls, (req, url, res) => {
    if (req.headers.authorization !== `Bearer ${TOKEN}`) return status(res, 401, 'Unauthorized');
    if (url.pathname === '/apis/apps/v1/namespaces/agents/replicasets/research-agent-7c9f8d6b5') {
      return json(res, 200, { kind: 'ReplicaSet', metadata: { name: 'research-agent-7c9f8d6b5', ownerReferences: [{ kind: 'Deployment', name: 'research-agent', controller: true }] } });
    }
    if (url.pathname === '/apis/batch/v1/namespaces/agents/jobs/nightly-eval-29391840') {
      return json(res, 200, { kind: 'Job', metadata: { name: 'nightly-eval-29391840', ownerReferences: [{ kind: 'CronJob', name: 'nightly-eval', controller: true }] } });
    }
    if (url.pathname !== '/api/v1/pods') return status(res, 404, 'NotFound');
    assert.equal(url.searchParams.get('fieldSelector'), 'spec.nodeName=node-a');
    if (url.searchParams.get('watch') !== '1') {
      listCalls++;
      if (listCalls === 1) return status(res, 503, 'ServiceUnavailable'); // API outage on start
      if (phase === 1) {
        // Two pages joined by a continue token.
        if (!url.searchParams.get('continue')) return json(res, 200, { kind: 'PodList', metadata: { continue: 'page2', resourceVersion: '1003' }, items: podList.items.slice(0, 2) });
        return json(res, 200, { kind: 'PodList', metadata: { resourceVersion: '1003' }, items: podList.items.slice(2) });
      }
      // Relist after 410: the agent pod vanished while we were away; a new pod exists.
      return json(res, 200, { kind: 'PodList', metadata: { resourceVersion: '2000' }, items: [cronPod, newPod] });
    }
    watchCalls++;
    const rv = url.searchParams.get('resourceVersion');
    res.writeHead(200, { 'content-type': 'application/json' });
    if (watchCalls === 1) {
      assert.equal(rv, '1003');
      line(res, 'ADDED', newPod);
      const mod = clone(webPod);
      mod.metadata.labels = { ...mod.metadata.labels, 'agentrail.dev/monitor': 'true' };
      mod.metadata.resourceVersion = '1005';
      line(res, 'MODIFIED', mod);
      line(res, 'DELETED', { ...clone(mod), metadata: { ...mod.metadata, resourceVersion: '1006' } });
      line(res, 'BOOKMARK', { kind: 'Pod', apiVersion: 'v1', metadata: { resourceVersion: '1010' } });
      res.end();
      return;
    }
    if (watchCalls === 2) {
      assert.equal(rv, '1010', 'the watch resumes from the bookmark');
      phase = 2;
      line(res, 'ERROR', { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'Expired', code: 410, message: 'too old resource version: 1010 (1500)' });
      res.end();
      return;
    }
    assert.equal(rv, '2000');
    // Held open until the test stops the cache.
  });
  const server = await api.start();
  const dir = mkdtempSync(join(tmpdir(), 'agentrail-k8s-'));
  let cache: PodCache | undefined;
  t.after(async () => {
    await cache?.stop();
    await api.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  // Connect through a kubeconfig with the CA inline and a token: exercises that loader too.
  const kc = join(dir, 'kubeconfig');
  writeFileSync(kc, [
    'apiVersion: v1', 'kind: Config', 'current-context: test',
    'contexts:', '- name: test', '  context: {cluster: fake, user: sensor}',
    'clusters:', '- name: fake', `  cluster: {server: "${server}", certificate-authority-data: ${tls.cert.toString('base64')}}`,
    'users:', '- name: sensor', `  user: {token: ${TOKEN}}`, '',
  ].join('\n'));
  const kube = new KubeApi(kubeconfigOptions(kc));

  // Fake cgroup hierarchy with the agent pod's and the new pod's container scopes.
  const cg = join(dir, 'cgroup');
  writeFileSync((mkdirSync(cg), join(cg, 'cgroup.controllers')), 'cpu\n');
  const scopeOf = (p: Pod) => {
    const uid = p.metadata.uid.replace(/-/g, '_');
    const id = p.status!.containerStatuses![0]!.containerID!.split('://')[1]!;
    return join(cg, `kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${uid}.slice/cri-containerd-${id}.scope`);
  };
  mkdirSync(scopeOf(agentPod), { recursive: true });
  const ino = (p: string) => statSync(p, { bigint: true }).ino;
  const agentScope = ino(scopeOf(agentPod));
  const agentSlice = ino(join(scopeOf(agentPod), '..'));

  cache = new PodCache(kube, { nodeName: 'node-a', backoffInitialMs: 20, backoffMaxMs: 50, pageSize: 2 });
  const cgroups = new CgroupIndex(cg, 0);
  const cfg = parseConfig({ kubernetes: { enabled: true, selection: { podSelector: { matchLabels: { 'agentrail.dev/monitor': 'true' } } } } });
  const selection = new Selection(cache, cgroups, cfg.kubernetes.selection, kube);
  const added: bigint[] = [];
  const removed: bigint[] = [];
  selection.onAdd((id) => added.push(id));
  selection.onRemove((id) => removed.push(id));
  const resolver = new KubernetesWorkloadResolver({ procRoot: join(dir, 'proc'), cgroups, pods: cache, owners: new OwnerResolver(kube), nodeName: 'node-a', readProjectedToken: false, readCloudIdentity: false });
  const deletes: string[] = [];
  cache.on('delete', (p: Pod) => deletes.push(p.metadata.name));

  cache.start();
  await cache.waitForSync();
  assert.equal(listCalls, 3, 'one failed list (503), then two pages');
  assert.match(await registry.getSingleMetricAsString('agentrail_stage_errors_total'), /stage="k8s",reason="http_503"/);
  assert.ok(cache.get(AGENT_UID));
  assert.equal(cache.byContainerId(agentPod.status!.containerStatuses![0]!.containerID!.split('://')[1]!)?.metadata.name, agentPod.metadata.name);

  // Selection: the monitored agent pod's slice and container scope are in the allow map.
  assert.ok(added.includes(agentScope) && added.includes(agentSlice), 'agent pod cgroups added');
  assert.ok(!selection.matches(webPod), 'web pod lacks the monitor label');

  // Resolver through the cgroup id: owner reference ReplicaSet → Deployment via the API.
  await until(() => resolver.resolve(1, agentScope)?.workload_id === 'k8s:agents/Deployment/research-agent');
  const id = resolver.resolve(1, agentScope)!;
  assert.equal(id.namespace, 'agents');
  assert.equal(id.pod, agentPod.metadata.name);
  assert.equal(id.pod_uid, AGENT_UID);
  assert.equal(id.service_account, 'agents/research-agent');
  assert.equal(id.node, 'node-a');
  assert.equal(id.labels?.['agentrail.dev/monitor'], 'true');

  // CronJob through the Job's owner; cri-o container id prefix stripped.
  const cronCid = cronPod.status!.containerStatuses![0]!.containerID!.split('://')[1]!;
  mkdirSync(join(cg, `kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${cronPod.metadata.uid.replace(/-/g, '_')}.slice/crio-${cronCid}.scope`), { recursive: true });
  selection.refresh(true);
  const cronSlicePath = join(cg, `kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${cronPod.metadata.uid.replace(/-/g, '_')}.slice`);
  const cronScope = ino(join(cronSlicePath, `crio-${cronCid}.scope`));
  await until(() => resolver.resolve(2, cronScope)?.workload_id === 'k8s:agents/CronJob/nightly-eval');

  // Watch: the new pod was ADDED; web-0 MODIFIED then DELETED; 410 then relist drops the agent pod.
  await until(() => watchCalls >= 3);
  assert.ok(deletes.includes('web-0'), 'DELETED event removes the pod');
  assert.ok(deletes.includes(agentPod.metadata.name), 'relist after 410 removes pods deleted while away');
  assert.equal(listCalls, 4, 'exactly one relist after 410');
  assert.match(await registry.getSingleMetricAsString('agentrail_k8s_relists_total'), /reason="gone"} 1/);
  assert.equal(cache.get(AGENT_UID), undefined);
  assert.ok(cache.get(newPod.metadata.uid));
  assert.ok(removed.includes(agentScope), 'agent pod cgroups removed from the allow map');
  assert.equal(resolver.resolve(1, agentScope), undefined, 'a deleted pod no longer resolves (no token fallback here)');

  // The new pod's container starts later: its cgroup appears and the periodic refresh adds it.
  mkdirSync(scopeOf(newPod), { recursive: true });
  selection.refresh(true);
  assert.ok(added.includes(ino(scopeOf(newPod))));
  assert.deepEqual(new Set(selection.cgroupIds()), new Set([ino(scopeOf(newPod)), ino(join(scopeOf(newPod), '..')), cronScope, ino(cronSlicePath)]));
  assert.ok(api.requests.every((r) => r.auth === `Bearer ${TOKEN}`));
});
