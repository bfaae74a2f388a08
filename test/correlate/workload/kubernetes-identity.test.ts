import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../../../src/paths.js';
import { parseConfig } from '../../../src/config/load.js';
import { startKubernetesIdentity } from '../../../src/correlate/workload/kubernetes-identity.js';
import { inClusterOptions, KubeApi } from '../../../src/correlate/workload/kube-api.js';
import { PodCache } from '../../../src/correlate/workload/pod-cache.js';
import { OwnerResolver } from '../../../src/correlate/workload/owner.js';
import { matchesSelector } from '../../../src/correlate/workload/label-selector.js';
import { ChainWorkloadResolver, HostWorkloadResolver } from '../../../src/correlate/workload-resolver.js';
import type { Pod, PodList } from '../../../src/correlate/workload/pod-types.js';
import { FakeKubeApi, json, selfSignedCert, status } from './fake-kube-api.js';

const podList = JSON.parse(readFileSync(join(repoRoot, 'test/fixtures/k8s/pod-list.json'), 'utf8')) as PodList;

function until(cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const tick = () => (cond() ? resolve() : Date.now() > end ? reject(new Error('condition not reached')) : setTimeout(tick, 10));
    tick();
  });
}

test('in-cluster options: service host, CA and token file of the mounted service account', () => {
  const sa = mkdtempSync(join(tmpdir(), 'agentrail-sa-'));
  try {
    writeFileSync(join(sa, 'ca.crt'), '-----BEGIN CERTIFICATE-----\n');
    writeFileSync(join(sa, 'token'), 'x');
    const o = inClusterOptions({ KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' }, sa);
    assert.equal(o.server, 'https://10.96.0.1:443');
    assert.equal(o.tokenFile, join(sa, 'token'));
    assert.equal(inClusterOptions({ KUBERNETES_SERVICE_HOST: 'fd00::1' }, sa).server, 'https://[fd00::1]:443');
    assert.throws(() => inClusterOptions({}, sa), /KUBERNETES_SERVICE_HOST/);
  } finally {
    rmSync(sa, { recursive: true, force: true });
  }
});

test('owner workload by naming convention when the API cannot be asked', () => {
  const o = new OwnerResolver();
  const [deployPod, cronPod, stsPod] = podList.items as [Pod, Pod, Pod];
  assert.deepEqual(o.workloadOf(deployPod), { kind: 'Deployment', name: 'research-agent' });
  assert.deepEqual(o.workloadOf(cronPod), { kind: 'CronJob', name: 'nightly-eval' });
  assert.deepEqual(o.workloadOf(stsPod), { kind: 'StatefulSet', name: 'web' });
  const bare: Pod = { metadata: { name: 'debug', namespace: 'x', uid: 'u' } };
  assert.deepEqual(o.workloadOf(bare), { kind: 'Pod', name: 'debug' });
  const ds: Pod = { metadata: { name: 'n-abc', uid: 'v', ownerReferences: [{ kind: 'DaemonSet', name: 'n', controller: true }] } };
  assert.deepEqual(o.workloadOf(ds), { kind: 'DaemonSet', name: 'n' });
  const plainJob: Pod = { metadata: { name: 'j-x', uid: 'w', ownerReferences: [{ kind: 'Job', name: 'migrate', controller: true }] } };
  assert.deepEqual(o.workloadOf(plainJob), { kind: 'Job', name: 'migrate' });
});

test('label selectors: matchLabels and every matchExpressions operator', () => {
  const l = { app: 'a', tier: 'x' };
  const sel = (s: object) => parseConfig({ kubernetes: { selection: { podSelector: s } } }).kubernetes.selection.podSelector;
  assert.ok(matchesSelector(sel({}), l));
  assert.ok(matchesSelector(sel({ matchLabels: { app: 'a' } }), l));
  assert.ok(!matchesSelector(sel({ matchLabels: { app: 'b' } }), l));
  assert.ok(matchesSelector(sel({ matchExpressions: [{ key: 'tier', operator: 'In', values: ['x', 'y'] }] }), l));
  assert.ok(!matchesSelector(sel({ matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['x'] }] }), l));
  assert.ok(matchesSelector(sel({ matchExpressions: [{ key: 'gone', operator: 'NotIn', values: ['x'] }] }), l));
  assert.ok(matchesSelector(sel({ matchExpressions: [{ key: 'app', operator: 'Exists' }] }), l));
  assert.ok(!matchesSelector(sel({ matchExpressions: [{ key: 'app', operator: 'DoesNotExist' }] }), l));
  assert.throws(() => sel({ matchExpressions: [{ key: 'a', operator: 'Like' }] }), /operator/);
});

test('API outage after sync: the cache keeps serving, backs off, and recovers', async (t) => {
  const tls = selfSignedCert();
  let down = false;
  let calls = 0;
  const api = new FakeKubeApi(tls, (_req, url, res) => {
    calls++;
    if (down) return status(res, 503, 'ServiceUnavailable');
    if (url.searchParams.get('watch') !== '1') return json(res, 200, podList);
    res.writeHead(200, { 'content-type': 'application/json' });
    setTimeout(() => res.end(), 20); // a short watch; the next one hits the outage
  });
  const server = await api.start();
  const cache = new PodCache(new KubeApi({ server, ca: tls.cert }), { nodeName: 'node-a', backoffInitialMs: 20, backoffMaxMs: 40 });
  // Stop the client before the server, or the server waits on the client's retries.
  t.after(async () => {
    await cache.stop();
    await api.stop();
  });
  cache.start();
  await cache.waitForSync();
  down = true;
  const before = calls;
  await until(() => calls >= before + 4);
  assert.equal(cache.all().length, 3, 'stale pods served during the outage');
  assert.ok(cache.get(podList.items[0]!.metadata.uid));
  down = false;
  const n = calls;
  await until(() => calls > n + 1);
  assert.equal(cache.all().length, 3);
});

test('startKubernetesIdentity wires cache, selection and resolver from config (kubeconfig)', async (t) => {
  const tls = selfSignedCert();
  const api = new FakeKubeApi(tls, (_req, url, res) => {
    if (url.pathname === '/api/v1/namespaces/agents') return json(res, 200, { kind: 'Namespace', metadata: { name: 'agents', labels: { team: 'ml' } } });
    if (url.pathname !== '/api/v1/pods') return status(res, 404, 'NotFound');
    if (url.searchParams.get('watch') !== '1') return json(res, 200, podList);
    res.writeHead(200, { 'content-type': 'application/json' }); // held open
  });
  const server = await api.start();
  const dir = mkdtempSync(join(tmpdir(), 'agentrail-kid-'));
  let k: ReturnType<typeof startKubernetesIdentity> | undefined;
  t.after(async () => {
    await k?.stop();
    await api.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  const kc = join(dir, 'kubeconfig');
  writeFileSync(kc, `apiVersion: v1\nkind: Config\ncurrent-context: c\ncontexts: [{name: c, context: {cluster: k, user: u}}]\nclusters: [{name: k, cluster: {server: "${server}", certificate-authority-data: ${tls.cert.toString('base64')}}}]\nusers: [{name: u, user: {token: t0k}}]\n`);
  const cg = join(dir, 'cg');
  mkdirSync(cg);
  writeFileSync(join(cg, 'cgroup.controllers'), '');
  const pod = podList.items[0]!;
  const cid = pod.status!.containerStatuses![0]!.containerID!.split('://')[1]!;
  const scope = join(cg, `kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${pod.metadata.uid.replace(/-/g, '_')}.slice/cri-containerd-${cid}.scope`);
  mkdirSync(scope, { recursive: true });
  const cfg = parseConfig({
    kubernetes: {
      enabled: true, api: 'kubeconfig', kubeconfig: kc, cgroupRoot: cg, procRoot: join(dir, 'proc'),
      selection: { podSelector: { matchLabels: { 'agentrail.dev/monitor': 'true' } }, namespaceSelector: { matchLabels: { team: 'ml' } } },
    },
  });
  assert.throws(() => startKubernetesIdentity(cfg.kubernetes, {}), /NODE_NAME/);
  k = startKubernetesIdentity(cfg.kubernetes, { NODE_NAME: 'node-a' });
  const added: bigint[] = [];
  k.selection!.onAdd((id) => added.push(id));
  await k.pods!.waitForSync();
  assert.equal(k.ready(), true);
  const scopeId = statSync(scope, { bigint: true }).ino;
  // Namespace labels arrive asynchronously; then the agent pod's cgroups are selected.
  await until(() => added.includes(scopeId));
  const chain = new ChainWorkloadResolver([k.resolver, new HostWorkloadResolver('node-a')]);
  const id = chain.resolve(process.pid, scopeId)!;
  assert.equal(id.workload_id, 'k8s:agents/Deployment/research-agent');
  assert.equal(id.container_id, cid);
  // A host process (not in a pod) falls through to the host resolver.
  assert.match(chain.resolve(process.pid, 0n, { comm: 'node' })!.workload_id, /^host:node-a\/node$/);
});
