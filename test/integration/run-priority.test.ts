import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli, spawnCli } from '../helpers/cli.js';
import { requireKernel } from '../helpers/privileges.js';
import { waitFor } from '../helpers/wait-for.js';

const dir = mkdtempSync(join(tmpdir(), 'agentrail-priority-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Nice value of every thread of a process (/proc/PID/task/TID/stat, field 19). */
function threadNice(pid: number): number[] {
  return readdirSync(`/proc/${pid}/task`).map((tid) => Number(readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8').split(') ')[1]!.split(' ')[16]));
}

test('agentrail run: every sensor thread, the kernel poll thread included, runs at collector.nice', async (t) => {
  if (!requireKernel(t)) return;
  const cfg = join(dir, 'nice7.yaml');
  writeFileSync(cfg, 'observability:\n  httpPort: 0\ncollector:\n  nice: 7\n');
  const sensor = spawnCli(['run', '--all', '--log-dir', join(dir, 'log'), '--config', cfg], { stdio: ['ignore', 'ignore', 'pipe'], env: { AGENTRAIL_LOG_LEVEL: 'info' } });
  let err = '';
  sensor.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  try {
    await waitFor('pipeline running', () => {
      if (sensor.exitCode !== null) throw new Error(`sensor exited ${sensor.exitCode}: ${err.slice(-1500)}`);
      return err.includes('pipeline running') ? true : undefined;
    }, 60_000);
    const nice = threadNice(sensor.pid!);
    // The addon's poll thread starts after the CLI set the priority: it must have inherited it too.
    assert.ok(nice.length >= 8, `threads: ${nice.length}`);
    assert.deepEqual([...new Set(nice)], [7], `thread nice values: ${nice.join(',')}`);
  } finally {
    sensor.kill('SIGTERM');
    await new Promise((r) => sensor.once('exit', r));
  }
});

test('collector.nice out of range is one configuration line with a stable code', () => {
  const cfg = join(dir, 'bad.yaml');
  writeFileSync(cfg, 'collector:\n  nice: 40\n');
  const r = runCli(['run', '--all', '--config', cfg, '--duration', '1']);
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr.trim(), /^agentrail run: CONFIG_INVALID: .*collector\.nice/);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
});
