/**
 * The sharded pipeline (`pipeline.workers: 2`) against the in-process one on the same multi-session
 * capture (the recorded SDK captures, each copy moved to its own pids, pipe inodes and times):
 * the same agent-action events by type and content, the same counted drops (counted in the
 * workers, merged into the stop summary), both shards used, and a log the offline verifier accepts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RawEvent } from '../../src/contracts/raw-event.js';
import { runCliAsync } from '../helpers/cli.js';
import { asSession, capturePath, listCaptures, readEvents, writeCapture } from '../replay/capture-tools.js';

/** Values that differ run to run by design: ids, times, chain fields, session and trace ids, durations. */
const VOLATILE = /(^|_)(id|ids|time|ts|at|ns|ms|trace|span|traceparent|session|parent|cause|sequence|prevhash|duration)$|^(id|time|sequence|prevhash|traceparent|subject|partitionkey)$/i;
function stable(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(stable);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).filter(([k]) => !VOLATILE.test(k)).map(([k, x]) => [k, stable(x)]));
  return v;
}

function readLog(dir: string): Record<string, unknown>[] {
  const segs = join(dir, 'segments');
  return readdirSync(segs).sort().flatMap((f) => readFileSync(join(segs, f), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>));
}

function stopLine(stderr: string): { drops: Record<string, number>; stageErrors: Record<string, number>; shards?: number[] } {
  const line = stderr.split('\n').find((l) => l.includes('"pipeline stopped"'));
  assert.ok(line, `no 'pipeline stopped' line in:\n${stderr.slice(-2000)}`);
  return JSON.parse(line) as never;
}

test('workers: 2 writes the same agent-action events as the in-process pipeline, verifiable, drops merged', async () => {
  const work = mkdtempSync(join(tmpdir(), 'ar-shards-'));
  try {
    const names = listCaptures();
    const all: RawEvent[] = [];
    for (let c = 0; c < 3; c++) names.forEach((n, i) => all.push(...asSession(readEvents(capturePath(n)), (c * names.length + i + 1) * 100_000, BigInt(c * names.length + i) * 1_000_000n)));
    all.sort((a, b) => (a.ktimeNs < b.ktimeNs ? -1 : a.ktimeNs > b.ktimeNs ? 1 : 0));
    const capture = join(work, 'sessions.arcap');
    writeCapture(capture, all, 128);
    const runs: { events: Record<string, unknown>[]; stop: ReturnType<typeof stopLine>; dir: string }[] = [];
    for (const workers of [1, 2]) {
      const cfg = join(work, `w${workers}.json`);
      writeFileSync(cfg, JSON.stringify({ pipeline: { workers }, observability: { httpEnabled: false }, seal: { keyDir: join(work, 'keys') } }));
      const dir = join(work, `log${workers}`);
      const r = await runCliAsync(['run', '--replay', capture, '--log-dir', dir, '--config', cfg], { env: { ...process.env, AGENTRAIL_LOG_LEVEL: 'info' }, timeoutMs: 120_000 });
      assert.equal(r.status, 0, r.stderr.slice(-2000));
      runs.push({ events: readLog(dir), stop: stopLine(r.stderr), dir });
    }
    const [inproc, sharded] = runs as [(typeof runs)[0], (typeof runs)[0]];
    const agentEvents = (l: Record<string, unknown>[]) => l.filter((e) => !/\.(sensor|log)\./.test(String(e.type)));
    const a = agentEvents(inproc.events);
    const b = agentEvents(sharded.events);
    assert.ok(a.length > 300, `in-process events: ${a.length}`);
    const byType = (l: Record<string, unknown>[]) => l.reduce<Record<string, number>>((m, e) => ((m[String(e.type)] = (m[String(e.type)] ?? 0) + 1), m), {});
    assert.deepEqual(byType(b), byType(a));
    const fingerprints = (l: Record<string, unknown>[]) => l.map((e) => JSON.stringify(stable(e))).sort();
    assert.deepEqual(fingerprints(b), fingerprints(a), 'same events, content for content (ids, times and session ids aside)');
    // Each copy is its own session: both shards got trees; the workers' counted drops reach the summary.
    assert.deepEqual(inproc.stop.shards, undefined);
    assert.equal(sharded.stop.shards?.length, 2);
    assert.ok(sharded.stop.shards!.every((n) => n > 0), `trees per shard: ${sharded.stop.shards}`);
    assert.ok(Object.keys(inproc.stop.drops).length > 0, 'the replay has counted drops to compare');
    assert.deepEqual(sharded.stop.drops, inproc.stop.drops);
    assert.deepEqual(sharded.stop.stageErrors, inproc.stop.stageErrors);
    const v = await runCliAsync(['verify', sharded.dir, '--keys', join(work, 'keys', 'agentrail.pub')]);
    assert.equal(v.status, 0, v.stdout + v.stderr);
    assert.match(v.stdout, new RegExp(`^OK .*: ${sharded.events.length} events`, 'm'));
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});
