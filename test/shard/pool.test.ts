/**
 * ShardPool, the main-thread side of the sharded pipeline, with real worker threads: sessions of a
 * recorded capture come back as canonical parts the sealer accepts; a worker that dies is reported
 * (for a sealed gap) and replaced, and the shard keeps working; worker metrics are merged.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { parseConfig } from '../../src/config/load.js';
import { ShardPool } from '../../src/shard/pool.js';
import type { ShardEvent } from '../../src/shard/messages.js';
import type { WorkloadResolver } from '../../src/correlate/workload-resolver.js';
import { partsToJson } from '../../src/seal/canonical.js';
import { readEvents } from '../replay/capture-tools.js';
import { capturePath, readBatches } from '../replay/capture-tools.js';

const until = async (what: string, ok: () => boolean, ms = 20_000) => {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

function newPool(events: ShardEvent[], crashes: { shard: number; error: string }[], identity?: WorkloadResolver) {
  return new ShardPool({
    workers: 2,
    init: { config: parseConfig({ observability: { httpEnabled: false } }), source: 'agentrail://pool-test/sensor', readProc: false, hmacKey: randomBytes(32), hmacKeyFile: 'test', forwardedIdentity: !!identity },
    onEvents: (l) => events.push(...l),
    onCrash: (shard, _lost, error) => crashes.push({ shard, error }),
    ...(identity ? { identity } : {}),
  });
}

const types = (l: ShardEvent[]) => l.map((e) => ('notJson' in e ? 'notJson' : e.type));

test('a crashed worker is reported and replaced; its shard keeps producing events', async () => {
  const events: ShardEvent[] = [];
  const crashes: { shard: number; error: string }[] = [];
  const pool = newPool(events, crashes);
  await pool.start();
  assert.equal(pool.running(), true);
  try {
    // Fault injection: a batch message without bytes makes worker 0 throw outside any stage.
    (pool as unknown as { slots: { worker: { postMessage(m: unknown): void } }[] }).slots[0]!.worker.postMessage({ t: 'batch' });
    await until('the crash report', () => crashes.length === 1);
    assert.equal(crashes[0]!.shard, 0);
    // Readiness says so until the replacement runs.
    await until('the replacement worker', () => pool.running() === true);
    // One session (one process tree) → one shard; the first new tree goes to shard 0, the replaced worker.
    for (const b of readBatches(capturePath('node-openai'))) await pool.push(b);
  } finally {
    await pool.close();
  }
  assert.deepEqual(pool.router.trees, [1, 0]);
  assert.ok(types(events).includes('dev.agentrail.model.invocation'), `events: ${types(events).join(' ')}`);
  const merged = await pool.mergedMetrics();
  const raw = (await merged.getSingleMetric('agentrail_raw_records_total')!.get()).values.reduce((n, v) => n + v.value, 0);
  assert.ok(raw > 50, `records decoded by the workers, merged: ${raw}`);
});

test('an invalid rules file fails start() with the worker\'s typed error', async () => {
  const pool = new ShardPool({
    workers: 2,
    init: { config: parseConfig({ policy: { rulesFile: '/nonexistent/agentrail-rules.yaml' } }), source: 'agentrail://pool-test/sensor', readProc: false, hmacKey: randomBytes(32), hmacKeyFile: 'test', forwardedIdentity: false },
    onEvents: () => undefined,
    onCrash: () => undefined,
  });
  await assert.rejects(pool.start(), (e: Error & { code?: string }) => /shard worker \d/.test(e.message) && typeof e.code === 'string');
  await pool.close();
});

test('workload identities resolved on the main thread reach the workers before the records, and again when they change', async () => {
  const events: ShardEvent[] = [];
  const cgroup = readEvents(capturePath('node-openai')).find((e) => e.cgroupId !== 0n)!.cgroupId;
  let answer = 'k8s:agents/Deployment/before-sync';
  const asked: bigint[] = [];
  // The interface the Kubernetes resolver implements; here it answers for the capture's cgroup only.
  const resolver: WorkloadResolver = {
    resolve: (_pid, cgroupId) => {
      asked.push(cgroupId);
      return cgroupId === cgroup ? { workload_id: answer, namespace: 'agents', service_account: 'agents/runner' } : undefined;
    },
  };
  const pool = newPool(events, [], resolver);
  await pool.start();
  try {
    const batches = readBatches(capturePath('node-openai'));
    const half = Math.floor(batches.length / 2);
    for (const b of batches.slice(0, half)) await pool.push(b);
    await until('events of the first half', () => events.length > 0);
    answer = 'k8s:agents/Deployment/after-sync';
    pool.tick(); // re-resolves and sends the change
    for (const b of batches.slice(half)) await pool.push(b);
  } finally {
    await pool.close();
  }
  assert.ok(asked.includes(cgroup));
  const subjects = events.filter((e) => !('notJson' in e)).map((e) => (JSON.parse(partsToJson(e as never)) as { subject?: string }).subject);
  assert.ok(subjects.includes('k8s:agents/Deployment/before-sync'), `subjects: ${[...new Set(subjects)].join(' ')}`);
  assert.ok(subjects.includes('k8s:agents/Deployment/after-sync'), `subjects: ${[...new Set(subjects)].join(' ')}`);
  assert.ok(subjects.every((s) => s === undefined || s.startsWith('k8s:agents/')), `no host identity for the pod's processes: ${[...new Set(subjects)].join(' ')}`);
});

test('a worker that stops finishing batches is reported stalled by readiness, said and counted once per episode', async () => {
  const { stageErrors } = await import('../../src/observability/metrics.js');
  const stalledCount = async () => (await stageErrors.get()).values.find((v) => v.labels.stage === 'shard' && v.labels.reason === 'worker_stalled')?.value ?? 0;
  const before = await stalledCount();
  const pool = new ShardPool({
    workers: 2,
    stallMs: 1000,
    init: { config: parseConfig({ observability: { httpEnabled: false } }), source: 'agentrail://pool-test/sensor', readProc: false, hmacKey: randomBytes(32), hmacKeyFile: 'test', forwardedIdentity: false },
    onEvents: () => undefined,
    onCrash: () => undefined,
  });
  await pool.start();
  try {
    // Fault injection: worker 1 never receives its batches (as if hung); worker 0 works.
    const w1 = (pool as unknown as { slots: { worker: { postMessage(m: { t: string }, t?: unknown): void } }[] }).slots[1]!.worker;
    const post = w1.postMessage.bind(w1);
    w1.postMessage = (m, t) => (m.t === 'batch' ? undefined : post(m, t));
    for (const b of readBatches(capturePath('node-openai'))) await pool.push(b); // first tree → shard 0
    for (const b of readBatches(capturePath('node-anthropic'))) await pool.push(b); // second tree → shard 1
    assert.equal(pool.running(), true, 'not stalled before the stall window');
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(pool.running(), 'shard worker(s) 1 stalled', 'worker 0 finished its batches; worker 1 finished none');
    pool.tick();
    pool.tick();
    assert.equal((await stalledCount()) - before, 1, 'one stall episode, counted once');
  } finally {
    await pool.close();
  }
});
