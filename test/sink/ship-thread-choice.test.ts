import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kafkaSchema } from '../../src/config/sink.js';
import { parseConfig } from '../../src/config/load.js';
import { shipsOnThread } from '../../src/sink/index.js';
import { cgroupCpuQuota, usableCores } from '../../src/config/usable-cores.js';

test('sink.kafka.thread: auto by default, a thread only with a core beyond the pipeline workers; true/false as given; other values one line', () => {
  const k = kafkaSchema.parse({ enabled: true, brokers: ['127.0.0.1:9092'] });
  assert.equal(k.thread, 'auto');
  const cores = usableCores();
  assert.equal(shipsOnThread(k, 1), cores > 1);
  assert.equal(shipsOnThread(k, cores), false, 'every core already has a pipeline thread');
  assert.equal(shipsOnThread(k, cores - 1), cores > 1 ? true : false);
  assert.equal(shipsOnThread({ ...k, thread: true }, cores), true);
  assert.equal(shipsOnThread({ ...k, thread: false }, 1), false);
  assert.throws(() => parseConfig({ sink: { kafka: { thread: 'yes' } } }), (e: Error & { code?: string }) => e.code === 'CONFIG_INVALID' && /sink\.kafka\.thread/.test(e.message) && !e.message.includes('\n'));
});

test('usable cores: CPU affinity capped by the cgroup CPU quota (v2 and v1, the smallest on the path), whole cores, at least 1', () => {
  const fs = (files: Record<string, string>) => (p: string) => files[p];
  // Kubernetes, cgroup v2 in a cgroup namespace: the container's limit at the root.
  assert.equal(cgroupCpuQuota(fs({ '/proc/self/cgroup': '0::/\n', '/sys/fs/cgroup/cpu.max': '100000 100000\n' })), 1);
  assert.equal(usableCores(fs({ '/proc/self/cgroup': '0::/\n', '/sys/fs/cgroup/cpu.max': '100000 100000\n' }), 32), 1, 'the chart default (limit 1 CPU) on a 32-core node');
  assert.equal(usableCores(fs({ '/proc/self/cgroup': '0::/\n', '/sys/fs/cgroup/cpu.max': '250000 100000' }), 32), 2, '2.5 cores → 2 whole');
  assert.equal(usableCores(fs({ '/proc/self/cgroup': '0::/\n', '/sys/fs/cgroup/cpu.max': '50000 100000' }), 32), 1, 'half a core → still 1');
  assert.equal(usableCores(fs({ '/proc/self/cgroup': '0::/\n', '/sys/fs/cgroup/cpu.max': 'max 100000' }), 8), 8, 'no limit');
  assert.equal(usableCores(fs({ '/proc/self/cgroup': '0::/\n', '/sys/fs/cgroup/cpu.max': '400000 100000' }), 2), 2, 'affinity below the quota');
  // v2 without a namespace: a limit on an ancestor counts.
  assert.equal(cgroupCpuQuota(fs({ '/proc/self/cgroup': '0::/kubepods/pod1/ctr\n', '/sys/fs/cgroup/kubepods/pod1/cpu.max': '300000 100000', '/sys/fs/cgroup/kubepods/pod1/ctr/cpu.max': 'max 100000' })), 3);
  // v1 (this machine's layout), both mount names, -1 = unlimited.
  assert.equal(cgroupCpuQuota(fs({ '/proc/self/cgroup': '4:cpu,cpuacct:/docker/abc\n', '/sys/fs/cgroup/cpu,cpuacct/docker/abc/cpu.cfs_quota_us': '150000', '/sys/fs/cgroup/cpu,cpuacct/docker/abc/cpu.cfs_period_us': '100000' })), 1.5);
  assert.equal(cgroupCpuQuota(fs({ '/proc/self/cgroup': '1:cpu:/\n', '/sys/fs/cgroup/cpu/cpu.cfs_quota_us': '-1', '/sys/fs/cgroup/cpu/cpu.cfs_period_us': '100000' })), undefined);
  // Nothing readable or garbage: the affinity stands.
  assert.equal(usableCores(fs({}), 4), 4);
  assert.equal(usableCores(fs({ '/proc/self/cgroup': '0::/\n', '/sys/fs/cgroup/cpu.max': 'garbage' }), 4), 4);
  assert.equal(usableCores(fs({ '/proc/self/cgroup': '0::/\n', '/sys/fs/cgroup/cpu.max': '100000 0' }), 4), 4);
});
