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
 * With `--kafka` (a broker from `npm run kafka:start`) every run also ships to Kafka (binary mode,
 * gzip, acks=all) and ends only when the shipper has the whole log acknowledged (the sensor's stop
 * drains it); the configurations are then the shipper on the main thread (`sink.kafka.thread:
 * false`) and on its own thread (the default), in-process and with workers=2.
 *
 * Run: npx tsc -p . && node dist/bench/shards.js [--copies 60] [--rounds 3] [--workers 1,2,3] [--kafka]
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RawEvent } from '../src/contracts/raw-event.js';
import { asSession, capturePath, listCaptures, readEvents, writeCapture } from '../test/replay/capture-tools.js';
import { brokerReachable, brokerState } from '../test/helpers/kafka.js';

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : dflt;
}
const copies = Number(arg('copies', '60'));
const rounds = Number(arg('rounds', '3'));
const workerCounts = arg('workers', '1,2,3').split(',').map(Number);
const kafka = process.argv.includes('--kafka');
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

// --kafka: one topic for every run (each run ships its whole log from its own cursor).
let brokers: string[] = [];
const topic = `bench.shards.${process.pid}`;
if (kafka) {
  if (!(await brokerReachable())) throw new Error('--kafka needs a broker: npm run kafka:start');
  brokers = brokerState()!.brokers;
  const init = spawnSync(process.execPath, [cli, 'kafka', 'init', '--brokers', brokers.join(','), '--topic', topic, '--checkpoint-topic', `${topic}.cp`, '--preset', 'dev', '--partitions', '3'], { encoding: 'utf8' });
  if (init.status !== 0) throw new Error(`kafka init: ${init.stderr}`);
}

interface Run { wallS: number; cpuS: number; events: number; unshipped: number }
function runOnce(workers: number, cpus: string, thread: boolean): Run {
  const logDir = mkdtempSync(join(dir, 'log-'));
  const cfg = join(logDir, 'config.json');
  const sink = kafka ? { sink: { kafka: { enabled: true, brokers, topic, checkpointTopic: `${topic}.cp`, thread } } } : {};
  writeFileSync(cfg, JSON.stringify({ pipeline: { workers }, observability: { httpEnabled: false }, ...sink }));
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
  // Shipped = the durable cursor at the end of the log (the stop drains up to 10 s).
  let unshipped = 0;
  if (kafka) {
    const cur = JSON.parse(readFileSync(join(logDir, 'log', 'cursors', 'kafka.json'), 'utf8')) as { segment: string; offset: number };
    for (const f of readdirSync(segs)) {
      const size = readFileSync(join(segs, f)).length;
      const seg = f.replace(/\.jsonl$/, '');
      unshipped += seg > cur.segment ? size : seg === cur.segment ? size - cur.offset : 0;
    }
  }
  rmSync(logDir, { recursive: true, force: true });
  return { wallS: wall, cpuS: user + sys, events, unshipped };
}

const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!;
const configs: { label: string; workers: number; cpus: string; cores: number; thread: boolean }[] = [];
const shippers = kafka ? [false, true] : [true];
for (const cores of [1, 2])
  for (const w of workerCounts)
    for (const thread of shippers)
      configs.push({ label: `${w === 1 ? 'in-process' : `workers=${w}`}${kafka ? (thread ? ', ship thread' : ', ship main') : ''} @${cores} core${cores > 1 ? 's' : ''}`, workers: w, cpus: cores === 1 ? '0' : '0,1', cores, thread });
const results = new Map<string, Run[]>();
for (let r = 0; r < rounds; r++) for (const c of configs) (results.get(c.label) ?? results.set(c.label, []).get(c.label)!).push(runOnce(c.workers, c.cpus, c.thread));

const rows = configs.map((c) => {
  const runs = results.get(c.label)!;
  const wall = median(runs.map((x) => x.wallS));
  const events = median(runs.map((x) => x.events));
  return { ...c, wall, cpu: median(runs.map((x) => x.cpuS)), events, eps: events / wall, mbps: plaintext / 1e6 / wall, unshipped: Math.max(...runs.map((x) => x.unshipped)) };
});
const ref = rows.find((r) => r.workers === 1 && r.cores === 1)!;
const w = Math.max(24, ...rows.map((r) => r.label.length));
console.log(`\n${'configuration'.padEnd(w)}  wall s   cpu s   agent events   events/s   plaintext MB/s   vs ${ref.label}${kafka ? '   unshipped bytes' : ''}`);
for (const r of rows) console.log(`${r.label.padEnd(w)} ${r.wall.toFixed(2).padStart(6)}  ${r.cpu.toFixed(2).padStart(6)}  ${String(r.events).padStart(13)}  ${r.eps.toFixed(0).padStart(9)}  ${r.mbps.toFixed(2).padStart(15)}  ${(r.eps / ref.eps).toFixed(2).padStart(8)}${kafka ? String(r.unshipped).padStart(18) : ''}`);
const byKey = Object.fromEntries(rows.map((r) => [`${r.workers === 1 ? 'inprocess' : `workers${r.workers}`}${kafka ? (r.thread ? '_shipthread' : '_shipmain') : ''}_${r.cores}core`, { events_per_s: Math.round(r.eps), plaintext_mb_per_s: Number(r.mbps.toFixed(2)), wall_s: r.wall, cpu_s: Number(r.cpu.toFixed(2)), events: r.events, ...(kafka ? { unshipped_bytes: r.unshipped } : {}) }]));
const best2 = Math.max(...rows.filter((r) => r.cores === 2).map((r) => r.eps));
const best1 = Math.max(...rows.filter((r) => r.cores === 1).map((r) => r.eps));
console.log(`\nbest at 2 cores / best at 1 core: ${(best2 / best1).toFixed(2)}`);
console.log(JSON.stringify({ bench: kafka ? 'shards-kafka' : 'shards', sessions, records: all.length, plaintext_mb: Number((plaintext / 1e6).toFixed(2)), rounds, events_per_s_1core: Math.round(best1), events_per_s_2core: Math.round(best2), scale_2_over_1: Number((best2 / best1).toFixed(2)), ...byKey }));
rmSync(dir, { recursive: true, force: true });
