/**
 * Sensor memory: `agentrail run --all` (the CLI as operators start it) on this machine.
 *
 * For each variant (side by side in one run), a fresh sensor is started and measured:
 *   idle      — 10 s after "pipeline running", median of 5 samples 1 s apart;
 *   loaded    — peak and median while a workload runs for --load-s seconds: HTTPS POSTs on new
 *               connections (8 in parallel), 1 MiB file reads, a short process every 50 ms;
 *   per process    — (RSS and JS heap after P traced `sleep` processes exist) − before, / P;
 *   per connection — (after C TLS connections are open and each carried one request) − before, / C.
 * Each figure splits RSS into the ring buffer mapping (the kernel ring is mapped twice, back to back,
 * so 2 × ringBytes shows in RSS), the V8 heap (from the sensor's own metrics endpoint) and the rest
 * (node binary, native heap, libraries). Kernel memory of the BPF maps (memlock, not in RSS) is
 * reported beside it.
 *
 * Run (root): npm run build:ts && node dist/bench/footprint.js [--load-s 15] [--procs 200] [--conns 500]
 *   [--variants cli,nodeDefaults,ring8] (see VARIANTS)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cliEntry, repoRoot } from '../src/paths.js';
import { makeTestCa, removeTestCa, type TestCa } from '../test/helpers/tls-server.js';
import { stopChild } from './processes.js';

interface Variant {
  name: string;
  nodeFlags: string[];
  ringBytes?: number;
  /** Extra environment of the sensor (e.g. glibc malloc tunables). */
  env?: Record<string, string>;
  /** pipeline.workers (the sharded pipeline: each worker thread has its own V8 heap, in RSS, not in the main heap figure). */
  workers?: number;
}
const VARIANTS: Record<string, Variant> = {
  // `agentrail` as installed: bin/agentrail.js's shebang (and the container's entrypoint) add --max-semi-space-size=4.
  cli: { name: 'agentrail (cli)', nodeFlags: ['--max-semi-space-size=4'] },
  nodeDefaults: { name: 'node defaults', nodeFlags: [] },
  semi1: { name: 'semi-space 1 MiB', nodeFlags: ['--max-semi-space-size=1'] },
  ring8: { name: 'cli, ring 8 MiB', nodeFlags: ['--max-semi-space-size=4'], ringBytes: 8 << 20 },
  workers2: { name: 'cli, pipeline.workers 2', nodeFlags: ['--max-semi-space-size=4'], workers: 2 },
  // V8 grows the old generation less between full collections (its memory-constrained heuristics).
  forSize: { name: 'cli, --optimize-for-size', nodeFlags: ['--max-semi-space-size=4', '--optimize-for-size'] },
  // Only the old generation's growth factor between full collections (1.2 and 1.5 instead of V8's dynamic 1.1–4).
  grow20: { name: 'cli, --heap-growing-percent=20', nodeFlags: ['--max-semi-space-size=4', '--heap-growing-percent=20'] },
  grow50: { name: 'cli, --heap-growing-percent=50', nodeFlags: ['--max-semi-space-size=4', '--heap-growing-percent=50'] },
  // glibc's mmap threshold fixed at 256 KiB: large batches are unmapped when JS frees them instead of
  // staying in an arena after glibc raised the threshold past them.
  mmap256: { name: 'cli, malloc mmap ≥ 256 KiB', nodeFlags: ['--max-semi-space-size=4'], env: { GLIBC_TUNABLES: 'glibc.malloc.mmap_threshold=262144' } },
};

interface Mem {
  rssKb: number;
  ringKb: number;
  heapKb: number;
  otherKb: number;
}

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] ? Number(process.argv[i + 1]) : def;
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** RSS and the part of it that is BPF map mappings (the ring), from /proc/PID/smaps. */
function procMem(pid: number): { rssKb: number; ringKb: number } {
  let cur = '';
  let rss = 0;
  let ring = 0;
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    if (/^[0-9a-f]+-[0-9a-f]+ /.test(line)) cur = line;
    else if (line.startsWith('Rss:')) {
      const kb = Number(line.split(/\s+/)[1]);
      rss += kb;
      if (cur.includes('anon_inode:bpf-map')) ring += kb;
    }
  }
  return { rssKb: rss, ringKb: ring };
}

/** Kernel memory charged for the sensor's BPF maps (fdinfo memlock, each map once by map_id), KiB. */
function bpfMapKernelKb(pid: number): number {
  const maps = new Map<string, number>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    let target = '';
    try {
      target = readlinkSync(`/proc/${pid}/fd/${fd}`);
    } catch {
      continue;
    }
    if (target !== 'anon_inode:bpf-map') continue;
    const info = readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8');
    const m = /memlock:\s+(\d+)/.exec(info);
    const id = /map_id:\s+(\d+)/.exec(info);
    if (m && id) maps.set(id[1]!, Number(m[1]));
  }
  let sum = 0;
  for (const v of maps.values()) sum += v;
  return Math.round(sum / 1024);
}

async function heapKb(port: number): Promise<number> {
  // A fresh connection per sample: a kept-alive one can be closed by the server between samples (ECONNRESET).
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`, { headers: { connection: 'close' } })).text();
  const m = /^agentrail_process_nodejs_heap_size_total_bytes (\d+)/m.exec(text);
  return m ? Math.round(Number(m[1]) / 1024) : NaN;
}

async function sample(pid: number, port: number): Promise<Mem> {
  const { rssKb, ringKb } = procMem(pid);
  const heap = await heapKb(port);
  return { rssKb, ringKb, heapKb: heap, otherKb: rssKb - ringKb - heap };
}

async function startSensor(v: Variant, dir: string): Promise<{ child: ChildProcess; port: number }> {
  const cfg = join(dir, 'config.yaml');
  writeFileSync(cfg, `observability:\n  httpPort: 0\n${v.ringBytes ? `collector:\n  ringBytes: ${v.ringBytes}\n` : ''}${v.workers ? `pipeline:\n  workers: ${v.workers}\n` : ''}`);
  const child = spawn(process.execPath, [...v.nodeFlags, cliEntry, 'run', '--all', '--log-dir', join(dir, 'log'), '--config', cfg], {
    env: { ...process.env, ...v.env, AGENTRAIL_ROOT: repoRoot, AGENTRAIL_LOG_LEVEL: 'info' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const t0 = Date.now();
  for (;;) {
    const m = /"healthPort":(\d+)[^\n]*"msg":"pipeline running"/.exec(err);
    if (m) return { child, port: Number(m[1]) };
    if (child.exitCode !== null || Date.now() - t0 > 60_000) throw new Error(`sensor did not start: ${err.slice(-1500)}`);
    await sleep(100);
  }
}

// A TLS server (its own process, traced like everything under --all) answering every request.
const SERVER = `
const tls = require('node:tls'); const fs = require('node:fs');
const res = 'HTTP/1.1 200 OK\\r\\ncontent-length: 2\\r\\n\\r\\nok';
tls.createServer({ key: fs.readFileSync(process.env.KEY), cert: fs.readFileSync(process.env.CERT) }, (s) => {
  s.on('data', () => s.write(res)); s.on('error', () => {});
}).listen(0, '127.0.0.1', function () { process.stdout.write(this.address().port + '\\n'); });`;

// mode load: SECONDS of work; mode conns: open N connections, one request each, keep them; mode procs: N sleeps.
const CLIENT = `
const tls = require('node:tls'); const fs = require('node:fs'); const cp = require('node:child_process');
const [mode, n] = [process.env.MODE, +process.env.N]; const ca = fs.readFileSync(process.env.CA);
const req = (keep) => new Promise((res, rej) => {
  const s = tls.connect({ host: '127.0.0.1', port: +process.env.PORT, ca, servername: 'localhost' }, () => s.write('POST /v1 HTTP/1.1\\r\\nhost: localhost\\r\\ncontent-length: 16\\r\\n\\r\\n0123456789abcdef'));
  s.once('data', () => { if (!keep) s.end(); res(s); }); s.on('error', rej);
});
(async () => {
  if (mode === 'conns') { const keep = []; for (let i = 0; i < n; i++) keep.push(await req(true)); process.stdout.write('ready\\n'); setInterval(() => {}, 1e6); return; }
  if (mode === 'procs') { const kids = []; process.on('SIGTERM', () => { for (const k of kids) k.kill(); process.exit(0); }); for (let i = 0; i < n; i++) kids.push(cp.spawn('sleep', ['600'], { stdio: 'ignore' })); setTimeout(() => process.stdout.write('ready\\n'), 500); setInterval(() => {}, 1e6); return; }
  const end = Date.now() + n * 1000; const buf = Buffer.alloc(65536);
  const loop = async () => { while (Date.now() < end) await req(false); };
  const files = async () => { while (Date.now() < end) { const fd = fs.openSync(process.env.FILE, 'r'); while (fs.readSync(fd, buf) > 0); fs.closeSync(fd); await new Promise((r) => setTimeout(r, 5)); } };
  const procs = async () => { while (Date.now() < end) { cp.spawnSync('true'); await new Promise((r) => setTimeout(r, 50)); } };
  await Promise.all([...Array.from({ length: 8 }, loop), files(), procs()]);
  process.stdout.write('done\\n');
})().catch((e) => { console.error(e.message); process.exit(2); });`;

function client(ca: TestCa, port: number, file: string, mode: string, n: number): { child: ChildProcess; until: (word: string) => Promise<void> } {
  const child = spawn(process.execPath, ['-e', CLIENT], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, MODE: mode, N: String(n), CA: ca.caPath, PORT: String(port), FILE: file } });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  return {
    child,
    until: async (word) => {
      while (!out.includes(word)) {
        if (child.exitCode !== null) throw new Error(`client ${mode} exited ${child.exitCode}`);
        await sleep(50);
      }
    },
  };
}

interface Result {
  variant: string;
  idle: Mem;
  loaded: { peak: Mem; median: Mem };
  perProcess: { rssKb: number; heapKb: number };
  perConnection: { rssKb: number; heapKb: number };
  bpfMapKernelKb: number;
}

async function measure(v: Variant, ca: TestCa, serverPort: number, file: string): Promise<Result> {
  const dir = mkdtempSync(join(tmpdir(), 'agentrail-footprint-'));
  const { child: sensor, port } = await startSensor(v, dir);
  const pid = sensor.pid!;
  try {
    await sleep(10_000);
    const idles: Mem[] = [];
    for (let i = 0; i < 5; i++, await sleep(1000)) idles.push(await sample(pid, port));
    const idle = idles.sort((a, b) => a.rssKb - b.rssKb)[2]!;
    const load = client(ca, serverPort, file, 'load', arg('load-s', 15));
    const loads: Mem[] = [];
    const finished = load.until('done');
    let over = false;
    void finished.then(() => (over = true), () => (over = true));
    while (!over) {
      loads.push(await sample(pid, port));
      await sleep(500);
    }
    await finished;
    const peak = loads.reduce((a, b) => (b.rssKb > a.rssKb ? b : a));
    const med = loads.sort((a, b) => a.rssKb - b.rssKb)[loads.length >> 1]!;
    await sleep(3000);
    const delta = async (mode: string, n: number) => {
      const before = await sample(pid, port);
      const c = client(ca, serverPort, file, mode, n);
      await c.until('ready');
      await sleep(3000); // the sensor has processed the records
      const after = await sample(pid, port);
      await stopChild(c.child);
      return { rssKb: (after.rssKb - before.rssKb) / n, heapKb: (after.heapKb - before.heapKb) / n };
    };
    const perProcess = await delta('procs', arg('procs', 200));
    const perConnection = await delta('conns', arg('conns', 500));
    return { variant: v.name, idle, loaded: { peak, median: med }, perProcess, perConnection, bpfMapKernelKb: bpfMapKernelKb(pid) };
  } finally {
    await stopChild(sensor);
    rmSync(dir, { recursive: true, force: true });
  }
}

const names = (process.argv.includes('--variants') ? process.argv[process.argv.indexOf('--variants') + 1]! : 'cli,nodeDefaults,ring8').split(',');
const ca = makeTestCa();
const file = join(ca.dir, 'load.bin');
writeFileSync(file, Buffer.alloc(1 << 20, 7));
const server = spawn(process.execPath, ['-e', SERVER], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, KEY: ca.keyPath, CERT: ca.certPath } });
const serverPort = await new Promise<number>((r) => server.stdout!.once('data', (d: Buffer) => r(Number(d.toString().trim()))));
const results: Result[] = [];
try {
  for (const n of names) {
    const v = VARIANTS[n];
    if (!v) throw new Error(`unknown variant ${n} (${Object.keys(VARIANTS).join(', ')})`);
    results.push(await measure(v, ca, serverPort, file));
  }
} finally {
  await stopChild(server);
  removeTestCa(ca);
}
const mb = (kb: number) => (kb / 1024).toFixed(1).padStart(6);
console.log(`sensor memory, agentrail run --all, node ${process.version} (MiB; ring = BPF ring mapping, heap = V8 heap total)`);
console.log('variant              idle rss  ring  heap other | loaded peak rss  heap | median rss | per process KiB rss/heap | per TLS conn KiB rss/heap | BPF maps kernel MiB');
for (const r of results) {
  console.log(
    `${r.variant.padEnd(19)} ${mb(r.idle.rssKb)}${mb(r.idle.ringKb)}${mb(r.idle.heapKb)}${mb(r.idle.otherKb)} | ${mb(r.loaded.peak.rssKb)}     ${mb(r.loaded.peak.heapKb)} | ${mb(r.loaded.median.rssKb)}     | ${r.perProcess.rssKb.toFixed(1)} / ${r.perProcess.heapKb.toFixed(1)} | ${r.perConnection.rssKb.toFixed(1)} / ${r.perConnection.heapKb.toFixed(1)} | ${mb(r.bpfMapKernelKb)}`,
  );
}
console.log(JSON.stringify({ bench: 'footprint', node: process.version, results }));
