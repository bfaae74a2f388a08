/**
 * No unsigned tail is ever adopted, with the real sensor: `agentrail run` is SIGKILLed while it traces
 * a workload, a key-less attacker appends a correctly chained line, verify reports it, the next start
 * quarantines it (unproven-tail) instead of signing it, and verify keeps failing. The default key pair
 * is generated outside the log directory and the start says where the verifier key is.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { appendFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jcs } from '../../src/verify/jcs.js';
import { requireKernel } from '../helpers/privileges.js';
import { runCliAsync, spawnCli } from '../helpers/cli.js';
import { waitFor } from '../helpers/wait-for.js';

const CHECKPOINT = '"type":"dev.agentrail.log.checkpoint"';

function segmentLines(log: string): { file: string; lines: string[] } {
  const segs = readdirSync(join(log, 'segments')).sort();
  const file = join(log, 'segments', segs.at(-1)!);
  const all = segs.flatMap((s) => readFileSync(join(log, 'segments', s), 'utf8').split('\n').slice(0, -1));
  return { file, lines: all };
}

test('real sensor: SIGKILL, then an appended chained line is never adopted: UNSIGNED_TAIL before the restart, unproven-tail quarantine and QUARANTINED after; keys outside the log directory', { timeout: 180_000 }, async (t) => {
  if (!requireKernel(t)) return;
  const dir = mkdtempSync(join(tmpdir(), 'agentrail-head-'));
  const children: ChildProcess[] = [];
  t.after(() => {
    for (const c of children) c.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
  const cfg = join(dir, 'c.yaml');
  writeFileSync(cfg, 'observability:\n  httpPort: 0\n');
  const log = join(dir, 'log');
  const env = { XDG_STATE_HOME: join(dir, 'state'), AGENTRAIL_LOG_LEVEL: 'info' };
  const verifier = join(dir, 'state', 'agentrail', 'keys', 'agentrail.pub');
  const data = join(dir, 'data.txt');
  writeFileSync(data, 'payload\n');
  const workload = spawn('/bin/sh', ['-c', `while :; do cat ${data} > /dev/null; sleep 0.02; done`], { stdio: 'ignore' });
  children.push(workload);

  const start = () => {
    const sensor = spawnCli(['run', '--pid', String(workload.pid), '--log-dir', log, '--config', cfg], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    children.push(sensor);
    let err = '';
    sensor.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    return { sensor, err: () => err };
  };

  const first = start();
  // Events of the workload are sealed and the signed head follows them.
  await waitFor('sealed workload events', () => (existsSync(join(log, 'head.note')) && segmentLines(log).lines.length > 40 ? true : undefined), 60_000);
  assert.ok(first.err().includes(verifier), `the start names the verifier key path: ${first.err().slice(-1500)}`);
  assert.ok(!existsSync(join(log, 'keys', 'agentrail.key')) && !existsSync(join(log, 'keys', 'agentrail.pub')), 'no signing or verifier key inside the log directory');
  assert.ok(existsSync(verifier));
  first.sensor.kill('SIGKILL');
  await new Promise((r) => first.sensor.once('exit', r));

  // A key-less attacker appends a correctly chained forged line after the last complete line.
  const { file, lines } = segmentLines(log);
  const text = readFileSync(file, 'utf8');
  writeFileSync(file, text.slice(0, text.lastIndexOf('\n') + 1));
  const head = readFileSync(join(log, 'head.note'), 'utf8');
  const headSeq = Number(head.split('\n')[1]);
  const last = lines.at(-1)!;
  const lastSeq = Number(JSON.parse(last).sequence);
  const covered = Math.max(headSeq, ...lines.filter((l) => l.includes(CHECKPOINT)).map((l) => Number(JSON.parse(l).sequence)));
  const forged = { ...JSON.parse(last), id: '01JFORGEDHEAD000000000000Z', type: 'dev.agentrail.data.access', data: { forged: true }, sequence: String(lastSeq + 1), prevhash: createHash('sha256').update(Buffer.from([0])).update(last).digest('hex') };
  delete (forged as { eventsig?: string }).eventsig;
  appendFileSync(file, jcs(forged) + '\n');

  const before = await runCliAsync(['verify', log, '--keys', verifier]);
  assert.equal(before.status, 16, before.stdout + before.stderr);
  const firstUnvouched = lines.length - (lastSeq - covered);
  assert.match(before.stdout, new RegExp(`^FAIL UNSIGNED_TAIL at index ${firstUnvouched}: `), before.stdout);

  // The next start quarantines what no signature covers, keeps it byte for byte, and says so.
  const second = start();
  await waitFor('second sensor running', () => (second.err().includes('pipeline running') ? true : undefined), 60_000);
  second.sensor.kill('SIGTERM');
  assert.equal(await new Promise((r) => second.sensor.once('exit', r)), 0, second.err().slice(-1500));
  assert.match(second.err(), /recovery moved lines it cannot vouch for into the quarantine/);
  const after = segmentLines(log).lines;
  assert.ok(!after.some((l) => l.includes('01JFORGEDHEAD')), 'the forged line was not adopted and signed');
  const gap = after.map((l) => JSON.parse(l)).find((e) => e.type === 'dev.agentrail.log.gap' && e.data.reason === 'unproven-tail');
  assert.ok(gap, 'a signed unproven-tail gap');
  assert.equal(gap.data.detail, 'AFTER_SIGNED_HEAD');
  assert.equal(gap.data.lostLines, lastSeq - covered + 1);
  assert.equal(gap.sequence, String(covered + 1));
  const kept = readFileSync(join(log, gap.data.quarantineFile), 'utf8');
  assert.ok(kept.endsWith(jcs(forged) + '\n'), 'the forged line is kept byte for byte');
  assert.equal(createHash('sha256').update(kept).digest('hex'), gap.data.quarantineSha256);

  const v = await runCliAsync(['verify', log, '--keys', verifier]);
  assert.equal(v.status, 16, v.stdout);
  assert.match(v.stdout, /^FAIL QUARANTINED .*unproven-tail.*quarantine\//, 'the restart did not launder the forged line into a clean log');
});
