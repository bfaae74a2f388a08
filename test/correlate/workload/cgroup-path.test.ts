import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../../../src/paths.js';
import { containerRefFromProcCgroup, parseCgroupPath, parseProcCgroupText } from '../../../src/correlate/workload/cgroup-path.js';
import { CgroupIndex, findUnifiedMount } from '../../../src/correlate/workload/cgroup-index.js';

const fx = (f: string) => readFileSync(join(repoRoot, 'test/fixtures/k8s', f), 'utf8');
const cases = JSON.parse(fx('cgroup-paths.json')) as Array<{ name: string; path: string; expect: Record<string, unknown> }>;

for (const c of cases) {
  test(`cgroup path: ${c.name}`, () => {
    assert.deepEqual({ ...parseCgroupPath(c.path) }, c.expect);
  });
}

test('fixtures cover every runtime and driver', () => {
  const runtimes = new Set(cases.map((c) => c.expect.runtime).filter(Boolean));
  for (const r of ['containerd', 'cri-o', 'docker', 'unknown']) assert.ok(runtimes.has(r), r);
  assert.ok(cases.some((c) => c.path.includes('.slice/')), 'systemd driver');
  assert.ok(cases.some((c) => /^\/kubepods\/(burstable|besteffort\/)?/.test(c.path)), 'cgroupfs driver');
});

test('/proc/<pid>/cgroup v2 line', () => {
  const r = containerRefFromProcCgroup(fx('proc-cgroup-v2.txt'));
  assert.equal(r.runtime, 'containerd');
  assert.equal(r.podUid, '5a1f8e2c-3b4d-4e6f-9a0b-1c2d3e4f5a6b');
  assert.match(r.containerId!, /^3f1c5e0b/);
});

test('/proc/<pid>/cgroup v1 (cgroupfs): the v2 line is "/" so a v1 controller line answers', () => {
  const lines = parseProcCgroupText(fx('proc-cgroup-v1.txt'));
  assert.equal(lines.length, 6);
  assert.deepEqual(lines[2]!.controllers, ['cpu', 'cpuacct']);
  const r = containerRefFromProcCgroup(fx('proc-cgroup-v1.txt'));
  assert.match(r.containerId!, /^a9b8c7d6/);
  assert.equal(r.qos, 'Burstable');
});

test('/proc/<pid>/cgroup hybrid with the v1 systemd-driver containerd format', () => {
  const r = containerRefFromProcCgroup(fx('proc-cgroup-hybrid.txt'));
  assert.equal(r.runtime, 'containerd');
  assert.equal(r.podUid, '5a1f8e2c-3b4d-4e6f-9a0b-1c2d3e4f5a6b');
});

test('/proc/<pid>/cgroup of a host process names no container', () => {
  assert.deepEqual(containerRefFromProcCgroup(fx('proc-cgroup-host.txt')), {});
});

test('cgroup index maps directory inodes (= cgroup ids) to paths on a fake v2 tree', () => {
  const root = mkdtempSync(join(tmpdir(), 'agentrail-cg-'));
  try {
    writeFileSync(join(root, 'cgroup.controllers'), 'cpu memory\n');
    const scope = join(root, 'kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod5a1f8e2c_3b4d_4e6f_9a0b_1c2d3e4f5a6b.slice/cri-containerd-' + 'c'.repeat(64) + '.scope');
    mkdirSync(scope, { recursive: true });
    const idx = new CgroupIndex(root, 0);
    assert.equal(idx.mount, root);
    assert.ok(idx.rescan() >= 5);
    const id = statSync(scope, { bigint: true }).ino;
    const p = idx.pathOf(id)!;
    assert.ok(p.startsWith('/kubepods.slice/') && p.endsWith('.scope'), p);
    assert.equal(parseCgroupPath(p).containerId, 'c'.repeat(64));
    assert.equal(idx.pathOf(statSync(root, { bigint: true }).ino), '/');
    // A cgroup created later is found by the rescan on miss.
    const late = join(root, 'system.slice');
    mkdirSync(late);
    assert.equal(idx.pathOf(statSync(late, { bigint: true }).ino), '/system.slice');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('cgroup index on this host finds the unified hierarchy (incl. the hybrid /sys/fs/cgroup/unified)', (t) => {
  const mount = findUnifiedMount('/sys/fs/cgroup');
  if (!mount) {
    t.diagnostic('no cgroup v2 hierarchy on this host');
    assert.equal(new CgroupIndex('/sys/fs/cgroup').rescan(), 0);
    return;
  }
  const idx = new CgroupIndex('/sys/fs/cgroup');
  assert.ok(idx.rescan() >= 1);
  assert.equal(idx.pathOf(statSync(mount, { bigint: true }).ino), '/');
});
