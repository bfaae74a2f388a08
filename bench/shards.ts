/**
 * The pipeline sharded by session (`pipeline.workers`, src/shard/), measured end to end through the
 * real CLI (`agentrail run --replay`: source → route → workers → seal → local log on disk) over a
 * multi-session capture built from the recorded SDK captures: `--copies` copies of each, pids,
 * pipe inodes and times moved apart so every copy is its own agent session, interleaved in time
 * as concurrent agents would be. Each configuration runs pinned with `taskset` to 1 core and to 2
 * cores, rounds interleaved, medians reported:
 *   in-process   pipeline.workers: 1 (every stage on the main thread, the default)
 *   workers=N    records split by session over N worker threads; the main thread routes and seals
 * events/s = agent-action events sealed (the six types) / wall time of the whole run (start-up and
 * the final drain included). Ends with one JSON line.
 *
 * Run: npx tsc -p . && node dist/bench/shards.js [--copies 60] [--rounds 3] [--workers 1,2,3]
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RawEvent } from '../src/contracts/raw-event.js';
import { asSession, capturePath, listCaptures, readEvents, writeCapture } from '../test/replay/capture-tools.js';

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : dflt;
}
const copies = Number(arg('copies', '60'));
const rounds = Number(arg('rounds', '3'));
const workerCounts = arg('workers', '1,2,3').split(',').map(Number);
const cli = join(import.meta.dirname, '..', 'src', 'cli', 'entry.js');
const AGENT_TYPES = new Set(['tool.invocation', 'model.invocation', 'data.access', 'policy.decision', 'identity.assertion', 'error'].map((t) => `dev.agentrail.${t}`));

const dir = mkdtempSync(join(tmpdir(), 'agentrail-shards-'));
const capture = join(dir, 'sessions.arcap');
const names = listCaptures();
const base = names.map((n) => readEvents(capturePath(n)));
const all: { e: RawEvent; k: number }[] = [];
let plaintext = 0;
for (let c = 0; c < copies; c++)
  base.forEach((evs, i) => {
    const start = evs[0]!.ktimeNs;
    // Sessions start 2 ms apart: many agents at once, each in its recorded order.
    const moved = asSession(evs, (c * names.length + i + 1) * 100_000, -start + BigInt(c * names.length + i) * 2_000_000n);
    moved.forEach((e, j) => {
      all.push({ e, k: j });
      if (e.kind === 'tls.data' || e.kind === 'pipe.data') plaintext += e.data.length;
    });
  });
all.sort((x, y) => (x.e.ktimeNs < y.e.ktimeNs ? -1 : x.e.ktimeNs > y.e.ktimeNs ? 1 : 0));
writeCapture(capture, all.map((x) => x.e), 256);
const sessions = copies * names.length;
console.log(`capture: ${sessions} sessions (${copies} copies of ${names.length} recorded captures), ${all.length} records, ${(plaintext / 1e6).toFixed(1)} MB of plaintext; load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);

interface Run { wallS: number; cpuS: number; events: number }
function runOnce(workers: number, cpus: string): Run {
  const logDir = mkdtempSync(join(dir, 'log-'));
  const cfg = join(logDir, 'config.json');
  writeFileSync(cfg, JSON.stringify({ pipeline: { workers }, observability: { httpEnabled: false } }));
  const r = spawnSync('taskset', ['-c', cpus, '/usr/bin/time', '-f', '%e %U %S', process.execPath, cli, 'run', '--replay', capture, '--log-dir', join(logDir, 'log'), '--config', cfg], {
    env: { ...process.env, AGENTRAIL_LOG_LEVEL: 'warn' },
    encoding: 'utf8',
    maxBuffer: 64 << 20,
  });
  if (r.status !== 0) throw new Error(`run failed (${r.status}): ${r.stderr.slice(-2000)}`);
  const [wall, user, sys] = r.stderr.trim().split('\n').at(-1)!.split(' ').map(Number) as [number, number, number];
  let events = 0;
  const segs = join(logDir, 'log', 'segments');
  for (const f of readdirSync(segs)) for (const line of readFileSync(join(segs, f), 'utf8').split('\n')) if (line && AGENT_TYPES.has((JSON.parse(line) as { type: string }).type)) events++;
  rmSync(logDir, { recursive: true, force: true });
  return { wallS: wall, cpuS: user + sys, events };
}

const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!;
const configs: { label: string; workers: number; cpus: string; cores: number }[] = [];
for (const cores of [1, 2]) for (const w of workerCounts) configs.push({ label: `${w === 1 ? 'in-process' : `workers=${w}`} @${cores} core${cores > 1 ? 's' : ''}`, workers: w, cpus: cores === 1 ? '0' : '0,1', cores });
const results = new Map<string, Run[]>();
for (let r = 0; r < rounds; r++) for (const c of configs) (results.get(c.label) ?? results.set(c.label, []).get(c.label)!).push(runOnce(c.workers, c.cpus));

const rows = configs.map((c) => {
  const runs = results.get(c.label)!;
  const wall = median(runs.map((x) => x.wallS));
  const events = median(runs.map((x) => x.events));
  return { ...c, wall, cpu: median(runs.map((x) => x.cpuS)), events, eps: events / wall, mbps: plaintext / 1e6 / wall };
});
const ref = rows.find((r) => r.workers === 1 && r.cores === 1)!;
console.log('\nconfiguration            wall s   cpu s   agent events   events/s   plaintext MB/s   vs in-process@1');
for (const r of rows) console.log(`${r.label.padEnd(24)} ${r.wall.toFixed(2).padStart(6)}  ${r.cpu.toFixed(2).padStart(6)}  ${String(r.events).padStart(13)}  ${r.eps.toFixed(0).padStart(9)}  ${r.mbps.toFixed(2).padStart(15)}  ${(r.eps / ref.eps).toFixed(2).padStart(8)}`);
const byKey = Object.fromEntries(rows.map((r) => [`${r.workers === 1 ? 'inprocess' : `workers${r.workers}`}_${r.cores}core`, { events_per_s: Math.round(r.eps), plaintext_mb_per_s: Number(r.mbps.toFixed(2)), wall_s: r.wall, cpu_s: r.cpu, events: r.events }]));
const best2 = Math.max(...rows.filter((r) => r.cores === 2).map((r) => r.eps));
const best1 = Math.max(...rows.filter((r) => r.cores === 1).map((r) => r.eps));
console.log(`\nbest at 2 cores / best at 1 core: ${(best2 / best1).toFixed(2)}`);
console.log(JSON.stringify({ bench: 'shards', sessions, records: all.length, plaintext_mb: Number((plaintext / 1e6).toFixed(2)), rounds, events_per_s_1core: Math.round(best1), events_per_s_2core: Math.round(best2), scale_2_over_1: Number((best2 / best1).toFixed(2)), ...byKey }));
rmSync(dir, { recursive: true, force: true });
