/**
 * Cost of workload identity on the hot path: cgroup path parsing, a cached
 * resolve() and a cold resolve() through a fake /proc with token and cloud
 * environment, and a cgroup hierarchy rescan. Prints ops/s and the cached/cold ratio.
 *   npm run build:ts && node dist/bench/k8s-identity.js
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseCgroupPath } from '../src/correlate/workload/cgroup-path.js';
import { CgroupIndex } from '../src/correlate/workload/cgroup-index.js';
import { KubernetesWorkloadResolver } from '../src/correlate/workload/kubernetes-resolver.js';

function rate(n: number, f: (i: number) => void): number {
  const t = process.hrtime.bigint();
  for (let i = 0; i < n; i++) f(i);
  return n / (Number(process.hrtime.bigint() - t) / 1e9);
}

const uid = '5a1f8e2c_3b4d_4e6f_9a0b_1c2d3e4f5a6b';
const cid = 'c'.repeat(64);
const path = `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${uid}.slice/cri-containerd-${cid}.scope`;
const parse = rate(200_000, () => parseCgroupPath(path));

const dir = mkdtempSync(join(tmpdir(), 'agentrail-bench-'));
const claims = Buffer.from(JSON.stringify({ sub: 'system:serviceaccount:agents:a', 'kubernetes.io': { namespace: 'agents', pod: { name: 'p', uid: uid.replace(/_/g, '-') }, serviceaccount: { name: 'a' } } })).toString('base64url');
const token = `eyJhbGciOiJSUzI1NiJ9.${claims}.c2ln`;
const N = 2000;
for (let p = 1; p <= N; p++) {
  const d = join(dir, String(p));
  mkdirSync(join(d, 'root/var/run/secrets/kubernetes.io/serviceaccount'), { recursive: true });
  writeFileSync(join(d, 'cgroup'), `0::/kubepods.slice/kubepods-pod${uid}.slice/cri-containerd-${p.toString(16).padStart(64, '0')}.scope\n`);
  writeFileSync(join(d, 'root/var/run/secrets/kubernetes.io/serviceaccount/token'), token);
  writeFileSync(join(d, 'environ'), 'AWS_ROLE_ARN=arn:aws:iam::1:role/r\0AWS_WEB_IDENTITY_TOKEN_FILE=/t\0');
}
const r = new KubernetesWorkloadResolver({ procRoot: dir });
const cold = rate(N, (i) => r.resolve(i + 1, 0n));
const cachedProc = rate(100_000, (i) => r.resolve((i % N) + 1, 0n));
// With the cgroup id the BPF record carries, repeated lookups skip /proc.
for (let p = 1; p <= N; p++) r.resolve(p, BigInt(p));
const cached = rate(1_000_000, (i) => r.resolve((i % N) + 1, BigInt((i % N) + 1)));
const cg = join(dir, 'cg');
mkdirSync(cg);
writeFileSync(join(cg, 'cgroup.controllers'), '');
for (let p = 0; p < 500; p++) mkdirSync(join(cg, `kubepods.slice/kubepods-pod${uid.slice(0, -4)}${String(p).padStart(4, '0')}.slice/cri-containerd-${cid}.scope`), { recursive: true });
const idx = new CgroupIndex(cg);
const rescans = rate(20, () => idx.rescan());
rmSync(dir, { recursive: true, force: true });
console.log(JSON.stringify({
  parseCgroupPathPerSec: Math.round(parse),
  resolveColdPerSec: Math.round(cold),
  resolveCachedByPidPerSec: Math.round(cachedProc),
  resolveCachedByCgroupIdPerSec: Math.round(cached),
  cachedOverColdRatio: +(cached / cold).toFixed(1),
  rescanMs1000Cgroups: +(1000 / rescans).toFixed(2),
}));
