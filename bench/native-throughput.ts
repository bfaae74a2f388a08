/**
 * Records/s the native addon delivers into JavaScript, and the drop rate at
 * twice the sustainable load. Needs root. Two loads (bench/loadgen.c):
 *  A. real records: 1-byte write()s into a pipe, each one AR_OP_PIPE_DATA
 *     record of 72 bytes from bpf/pipe.bpf.c (bounded by the writers' syscalls);
 *  B. consumer capacity: getppid() calls, each turned into 64 records of
 *     48 bytes by bench/burst.bpf.c, so production is cheap enough to drive
 *     the ring buffer → poll thread → batch → JS path past its capacity;
 *  C. as B, with the JS callback decoding every record (the next stage), so
 *     JS is the bottleneck and the 2x load shows counted drops.
 *   npm run build && node dist/bench/native-throughput.js [seconds]
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { decodeBatch } from '../src/decode/decode-batch.js';
import { createSensor } from '../src/native/addon.js';
import { repoRoot } from '../src/paths.js';

const SECONDS = Number(process.argv[2] ?? 3);
const dir = mkdtempSync(join(tmpdir(), 'agentrail-bench-'));
const loadgen = join(dir, 'loadgen');
const cc = spawnSync('cc', ['-O2', '-o', loadgen, join(repoRoot, 'bench', 'loadgen.c')], { stdio: 'inherit' });
if (cc.status !== 0) throw new Error('cannot compile bench/loadgen.c');
const burstObj = join(dir, 'burst.bpf.o');
const arch = process.arch === 'arm64' ? 'arm64' : 'x86';
const clang = spawnSync(
  'clang',
  ['-O2', '-g', '-target', 'bpf', `-D__TARGET_ARCH_${arch}`, '-I', join(repoRoot, 'bpf', '.output'), '-I', join(repoRoot, 'bpf', 'include'),
    '-c', join(repoRoot, 'bench', 'burst.bpf.c'), '-o', burstObj],
  { stdio: 'inherit' },
);
if (clang.status !== 0) throw new Error('cannot compile bench/burst.bpf.c (run npm run build:bpf first)');
const BURST = 64;

const sensor = createSensor({ objects: ['pipe', burstObj], pipeCap: 64, flushIntervalMs: 0 });
let delivered = 0;
let bytes = 0;
let decodeInJs = false;
sensor.start((buf, n) => {
  if (!buf) return;
  if (decodeInJs) {
    const events = decodeBatch(buf);
    if (events.length !== n) throw new Error(`decoded ${events.length} of ${n}`);
    delivered += n;
    bytes += buf.length;
    return;
  }
  // walk the headers: proves the framing, costs what a consumer pays at least
  let o = 0;
  let k = 0;
  while (o < buf.length) {
    o += buf.readUInt32LE(o + 4);
    k++;
  }
  if (k !== n) throw new Error(`batch framing: ${k} != ${n}`);
  delivered += n;
  bytes += buf.length;
});

function drops(): number {
  const c = sensor.counters();
  return (c.drops.pipe?.ringbuf_full ?? 0) + (c.drops.burst?.ringbuf_full ?? 0) + c.recordsDropped;
}

interface Trial {
  offered: number;
  delivered: number;
  dropped: number;
  seconds: number;
}

type Mode = 'pipe' | 'burst';
/** ratePerWriter in records/s (0 = unpaced). */
async function runWriters(mode: Mode, writers: number, ratePerWriter: number): Promise<Trial> {
  const d0 = delivered;
  const x0 = drops();
  const perCall = mode === 'burst' ? BURST : 1;
  const args = [String(ratePerWriter / perCall), String(SECONDS), '1', ...(mode === 'burst' ? ['getppid'] : [])];
  const procs = Array.from({ length: writers }, () => spawn(loadgen, args));
  const results = await Promise.all(
    procs.map(
      (p) =>
        new Promise<{ n: number; ns: number }>((resolve, reject) => {
          let out = '';
          let released = false;
          p.stdout.on('data', (d: Buffer) => {
            out += d.toString();
            if (!released && out.includes('\n')) {
              released = true;
              sensor.addPid(Number(out.split('\n')[0]));
              p.stdin.end('\n');
            }
          });
          p.on('close', (code) => {
            if (code !== 0) return reject(new Error(`loadgen exited ${code}`));
            const [n, ns] = out.trim().split('\n').pop()!.split(' ').map(Number);
            resolve({ n: n!, ns: ns! });
          });
        }),
    ),
  );
  // let the poll thread and the JS queue drain
  let last = -1;
  while (last !== delivered) {
    last = delivered;
    await sleep(300);
  }
  const seconds = Math.max(...results.map((r) => r.ns)) / 1e9;
  // + one record per writer for its final printf, which is traced too
  const offered = results.reduce((a, r) => a + r.n, 0) * perCall;
  return { offered, delivered: delivered - d0, dropped: drops() - x0, seconds };
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const line = (label: string, t: Trial) =>
  console.log(
    `${label.padEnd(28)} offered ${fmt(t.offered / t.seconds).padStart(11)}/s  delivered ${fmt(t.delivered / t.seconds).padStart(11)}/s  ` +
      `dropped ${fmt(t.dropped).padStart(10)} (${((100 * t.dropped) / Math.max(1, t.offered)).toFixed(2)}%)`,
  );

async function section(mode: Mode, title: string): Promise<void> {
  console.log(`\n== ${title}`);
  // unpaced writers (1, 2, 4); the sustainable rate is the best delivered
  // rate of a trial without any drop
  const trials: { writers: number; t: Trial }[] = [];
  for (const w of [1, 2, 4]) {
    const t = await runWriters(mode, w, 0);
    line(`${w} writer(s), unpaced`, t);
    trials.push({ writers: w, t });
  }
  const clean = trials.filter((x) => x.t.dropped === 0);
  let best = clean.sort((a, b) => b.t.delivered / b.t.seconds - a.t.delivered / a.t.seconds)[0];
  // nothing clean: step a paced single writer down until no drop
  let rate = trials[0]!.t.delivered / trials[0]!.t.seconds;
  for (let i = 0; !best && i < 10; i++) {
    rate *= 0.85;
    const t = await runWriters(mode, 1, rate);
    line(`1 writer at ${fmt(rate)}/s`, t);
    if (t.dropped === 0) best = { writers: 1, t };
  }
  if (!best) throw new Error('no zero-drop rate found');
  const sRate = best.t.delivered / best.t.seconds;
  // twice the sustainable load: twice the writers at the same per-writer rate
  const perWriter = sRate / best.writers;
  const twice = await runWriters(mode, best.writers * 2, perWriter);
  line(`${best.writers * 2} writers at ${fmt(perWriter)}/s`, twice);
  console.log(`-> sustainable, zero drops: ${fmt(sRate)} records/s into JS`);
  console.log(
    `-> at 2x target load: offered ${(twice.offered / twice.seconds / sRate).toFixed(2)}x sustainable, ` +
      `delivered ${fmt(twice.delivered / twice.seconds)}/s, drop rate ${((100 * twice.dropped) / Math.max(1, twice.offered)).toFixed(2)}%, ` +
      `accounted ${fmt(twice.delivered + twice.dropped)} of ${fmt(twice.offered)} (+1 printf record per writer)`,
  );
}

try {
  await section('pipe', 'A. real records: 1-byte pipe writes, 72-byte AR_OP_PIPE_DATA records (bpf/pipe.bpf.c)');
  await section('burst', `B. consumer capacity: ${BURST} records of 48 bytes per getppid() (bench/burst.bpf.c)`);
  decodeInJs = true;
  await section('burst', `C. as B, and JS decodes every record (src/decode/decode-batch.ts)`);
  const c = sensor.counters();
  console.log(
    `\ncounters: ${JSON.stringify({ batches: c.batchesDelivered, batchesDropped: c.batchesDropped, recordsDropped: c.recordsDropped, recordsPerBatch: Math.round(delivered / Math.max(1, c.batchesDelivered)), avgRecordBytes: Math.round(bytes / Math.max(1, delivered)), drops: c.drops })}`,
  );
} finally {
  sensor.stop();
  rmSync(dir, { recursive: true, force: true });
}
