/**
 * Overhead of the sensor on a fixed TLS + file workload (issue 2 benchmark).
 *
 * The workload is a child `node` process that makes `requests` HTTPS POSTs
 * (default 16 KiB body, 64 KiB response, keep-alive) to a local server (its
 * own untraced process) with a throwaway CA, and reads a 1 MiB file `fileReads` times in 64 KiB reads.
 * It runs in three modes, interleaved round by round in one run:
 *   untraced — no sensor loaded;
 *   loaded   — sensor loaded (all objects, uprobes attached), child not traced;
 *   traced   — sensor loaded and the child traced from its first instruction
 *              (TLS plaintext capture at the default 16 KiB cap, files, net…).
 * Reported per mode: median child wall time and median child CPU time (user +
 * system, which includes the BPF programs running in the child's context),
 * and the ratios to `untraced` (goal <= 1.02). The sensor's own poll-thread
 * CPU is reported separately.
 *
 * Run (root): npm run build:ts && node dist/bench/overhead.js [--rounds 7] [--requests 300] [--file-reads 200]
 *   [--up 16384] [--down 65536] [--objects tls,process,...] [--no-decode] [--tls-cap BYTES] [--hog N]
 * --hog N runs N busy loops beside it. Also reported per mode: the workload's run-queue wait
 * (/proc/self/schedstat: runnable, no CPU) and the HTTPS server's CPU (it maps libssl: the
 * uprobes, attached for every process, trap in it too and return at the pid filter).
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync, writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { createSensor, type NativeSensor } from '../src/native/addon.js';
import { decodeBatch } from '../src/decode/decode-batch.js';
import { makeTestCa, removeTestCa } from '../test/helpers/tls-server.js';
import { procCpuMs } from './processes.js';

export interface OverheadOptions {
  rounds: number;
  requests: number;
  fileReads: number;
  /** Request body bytes (default 16 KiB). */
  upBytes: number;
  /** Response body bytes (default 64 KiB). */
  downBytes: number;
  /** BPF objects to load (default: all). */
  objects?: string[];
  /** Do not decode batches in JS (isolates the kernel + poll-thread cost). */
  noDecode?: boolean;
  /** Sensor tlsCap (default: the addon's, 16 KiB). */
  tlsCap?: number;
  /** Busy-loop processes (`sh` spinning) running beside the whole benchmark: CPU contention. */
  hogs?: number;
}

type Mode = 'untraced' | 'loaded' | 'traced';

interface Sample {
  wallMs: number;
  cpuMs: number;
  /** Time the workload's main thread was runnable but waiting for a CPU (/proc/self/schedstat). */
  runDelayMs: number;
  /** CPU of the HTTPS server process during the run (it maps libssl too: uprobes with pid -1 trap there). */
  serverCpuMs: number;
  serverRunDelayMs: number;
  /** CPU of this process (HTTPS server + sensor poll thread + decoding) during the run. */
  parentCpuMs: number;
}

export interface OverheadResult {
  options: OverheadOptions;
  medians: Record<Mode, Sample>;
  ratios: { loaded: Sample; traced: Sample };
  /** Medians: files the TLS attacher attached, and the time it spent attaching, while the workload ran. */
  attachDuringRun: Record<'loaded' | 'traced', { files: number; ms: number }>;
  /** Median time from stop() until the last uprobe/link fd was closed (waited for, outside the runs). */
  sensorTeardownMs: number;
  tracedRecords: number;
  tracedTlsBytes: number;
  drops: Record<string, Record<string, number>>;
}

// Keep-alive HTTPS POSTs, then file reads; prints {cpuUs} at the end.
const WORKLOAD = `
const https = require('node:https'); const fs = require('node:fs');
const N = +process.env.REQS, F = +process.env.READS, body = Buffer.alloc(+process.env.UP, 0x61);
const agent = new https.Agent({ keepAlive: true, maxSockets: 1 });
function one() {
  return new Promise((res, rej) => {
    const r = https.request(process.env.URL, { method: 'POST', agent, headers: { 'content-length': body.length } }, (s) => {
      s.on('data', () => {}); s.on('end', res);
    });
    r.on('error', rej); r.end(body);
  });
}
(async () => {
  for (let i = 0; i < N; i++) await one();
  agent.destroy();
  const buf = Buffer.alloc(65536);
  for (let i = 0; i < F; i++) {
    const fd = fs.openSync(process.env.FILE, 'r');
    while (fs.readSync(fd, buf, 0, buf.length, null) > 0) {}
    fs.closeSync(fd);
  }
  const u = process.cpuUsage();
  // schedstat: on-CPU ns, run-queue wait ns, timeslices (of this thread; the workload is one JS thread).
  const rq = +fs.readFileSync('/proc/self/schedstat', 'utf8').split(' ')[1];
  process.stdout.write(JSON.stringify({ cpuUs: u.user + u.system, runDelayUs: rq / 1000 }) + '\\n');
})().catch((e) => { console.error(e.message); process.exit(2); });`;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Run-queue wait of all threads of a process so far (schedstat field 2), ms. */
function procRunqMs(pid: number): number {
  let ns = 0;
  for (const t of readdirSync(`/proc/${pid}/task`)) ns += Number(readFileSync(`/proc/${pid}/task/${t}/schedstat`, 'utf8').split(' ')[1]);
  return ns / 1e6;
}

/**
 * stop() releases the uprobe links on a detached thread; each release waits for an RCU grace period
 * (seconds in all, longer under CPU contention). A process forked meanwhile inherits the fds not yet
 * closed, and its exec then does the final close — waiting out those grace periods inside the next
 * workload's wall time (measured: 8x wall at 1.1x CPU with two busy loops). Wait until they are gone.
 */
async function waitProbeFdsClosed(): Promise<number> {
  const t0 = Date.now();
  const open = () =>
    readdirSync('/proc/self/fd').filter((fd) => {
      try {
        return /perf_event|bpf_link/.test(readlinkSync(`/proc/self/fd/${fd}`));
      } catch {
        return false;
      }
    }).length;
  while (open() > 0 && Date.now() - t0 < 120_000) await new Promise((r) => setTimeout(r, 20));
  return Date.now() - t0;
}


async function runChild(env: NodeJS.ProcessEnv, serverPid: number, sensor?: NativeSensor): Promise<Sample> {
  // sh waits on stdin so the sensor can trace the child before it execs node.
  const child = spawn('sh', ['-c', 'read _go; exec "$@"', 'sh', process.execPath, '-e', WORKLOAD], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  if (sensor) sensor.addPid(child.pid!);
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  const t0 = process.hrtime.bigint();
  const c0 = process.cpuUsage();
  const s0 = procCpuMs(serverPid);
  const q0 = procRunqMs(serverPid);
  child.stdin.end('\n');
  const code = await new Promise<number | null>((res) => child.on('exit', (c) => res(c)));
  const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
  const pc = process.cpuUsage(c0);
  if (code !== 0) throw new Error(`workload failed (exit ${code}): ${err.trim()}`);
  const serverCpuMs = procCpuMs(serverPid) - s0;
  const serverRunDelayMs = procRunqMs(serverPid) - q0;
  const { cpuUs, runDelayUs } = JSON.parse(out.trim().split('\n').pop()!) as { cpuUs: number; runDelayUs: number };
  return { wallMs, cpuMs: cpuUs / 1000, runDelayMs: runDelayUs / 1000, serverCpuMs, serverRunDelayMs, parentCpuMs: (pc.user + pc.system) / 1000 };
}

export async function runOverhead(opts: OverheadOptions): Promise<OverheadResult> {
  const hogs = Array.from({ length: opts.hogs ?? 0 }, () => spawn('sh', ['-c', 'while :; do :; done'], { stdio: 'ignore' }));
  try {
    return await measure(opts);
  } finally {
    for (const h of hogs) h.kill('SIGKILL');
  }
}

async function measure(opts: OverheadOptions): Promise<OverheadResult> {
  const ca = makeTestCa();
  const file = join(ca.dir, 'workload.bin');
  writeFileSync(file, randomBytes(1 << 20));
  const server = await startRawHttpsServerKeepAlive(ca, opts.downBytes);
  const env = { URL: `https://localhost:${server.port}/bench`, REQS: String(opts.requests), READS: String(opts.fileReads), UP: String(opts.upBytes), FILE: file, NODE_EXTRA_CA_CERTS: ca.caPath };
  const samples: Record<Mode, Sample[]> = { untraced: [], loaded: [], traced: [] };
  const attach: Record<Mode, Array<{ files: number; ms: number }>> = { untraced: [], loaded: [], traced: [] };
  const teardownMs: number[] = [];
  let tracedRecords = 0;
  let tracedTlsBytes = 0;
  let drops: Record<string, Record<string, number>> = {};
  try {
    // One warm-up run (page cache, JIT of the server).
    await runChild(env, server.pid);
    for (let round = 0; round < opts.rounds; round++) {
      const order: Mode[] = round % 2 === 0 ? ['untraced', 'loaded', 'traced'] : ['traced', 'loaded', 'untraced'];
      for (const mode of order) {
        if (mode === 'untraced') {
          samples.untraced.push(await runChild(env, server.pid));
          continue;
        }
        const sensor = createSensor({
          flushIntervalMs: 1000,
          ...(opts.objects ? { objects: opts.objects } : {}),
          ...(opts.tlsCap !== undefined ? { tlsCap: opts.tlsCap } : {}),
        });
        let records = 0;
        let tlsBytes = 0;
        sensor.start((buf, n) => {
          if (!buf) return;
          if (opts.noDecode) {
            records += n;
            return;
          }
          for (const e of decodeBatch(buf)) {
            records++;
            if (e.kind === 'tls.data') tlsBytes += e.data.length;
          }
        });
        const deadline = Date.now() + 10_000;
        while ((sensor.counters().observers.tls_probes_attached ?? 0) === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
        const obs0 = sensor.counters().observers;
        samples[mode].push(await runChild(env, server.pid, mode === 'traced' ? sensor : undefined));
        const obs1 = sensor.counters().observers;
        // Uprobe attaching done while the workload ran (a binary first seen at its exec): uprobe
        // registration write-locks the mm of every process mapping the file, the workload's included.
        attach[mode].push({
          files: (obs1.tls_files_attached ?? 0) - (obs0.tls_files_attached ?? 0),
          ms: ((obs1.tls_attach_ns_total ?? 0) - (obs0.tls_attach_ns_total ?? 0)) / 1e6,
        });
        await new Promise((r) => setTimeout(r, 100));
        sensor.stop();
        teardownMs.push(await waitProbeFdsClosed());
        if (mode === 'traced') {
          tracedRecords += records;
          tracedTlsBytes += tlsBytes;
          drops = sensor.counters().drops;
        }
      }
    }
  } finally {
    await server.close();
    rmSync(file, { force: true });
    removeTestCa(ca);
  }
  const med = (m: Mode): Sample => ({
    wallMs: median(samples[m].map((s) => s.wallMs)),
    cpuMs: median(samples[m].map((s) => s.cpuMs)),
    runDelayMs: median(samples[m].map((s) => s.runDelayMs)),
    serverCpuMs: median(samples[m].map((s) => s.serverCpuMs)),
    serverRunDelayMs: median(samples[m].map((s) => s.serverRunDelayMs)),
    parentCpuMs: median(samples[m].map((s) => s.parentCpuMs)),
  });
  const medians = { untraced: med('untraced'), loaded: med('loaded'), traced: med('traced') };
  const ratio = (m: Mode): Sample => ({
    wallMs: medians[m].wallMs / medians.untraced.wallMs,
    cpuMs: medians[m].cpuMs / medians.untraced.cpuMs,
    runDelayMs: medians[m].runDelayMs / medians.untraced.runDelayMs,
    serverCpuMs: medians[m].serverCpuMs / medians.untraced.serverCpuMs,
    serverRunDelayMs: medians[m].serverRunDelayMs / medians.untraced.serverRunDelayMs,
    parentCpuMs: medians[m].parentCpuMs / medians.untraced.parentCpuMs,
  });
  return {
    options: opts,
    medians,
    ratios: { loaded: ratio('loaded'), traced: ratio('traced') },
    attachDuringRun: {
      loaded: { files: median(attach.loaded.map((a) => a.files)), ms: median(attach.loaded.map((a) => a.ms)) },
      traced: { files: median(attach.traced.map((a) => a.files)), ms: median(attach.traced.map((a) => a.ms)) },
    },
    sensorTeardownMs: median(teardownMs),
    tracedRecords: Math.round(tracedRecords / opts.rounds),
    tracedTlsBytes: Math.round(tracedTlsBytes / opts.rounds),
    drops,
  };
}

// Keep-alive HTTPS server in its own (untraced) process, so that it does not
// share an event loop with the sensor's batch decoding in this process.
const SERVER = `
const https = require('node:https'); const fs = require('node:fs');
const response = Buffer.alloc(+process.env.DOWN, 0x62);
const server = https.createServer({ key: fs.readFileSync(process.env.KEY), cert: fs.readFileSync(process.env.CERT), keepAliveTimeout: 5000 }, (req, res) => {
  req.on('data', () => {});
  req.on('end', () => { res.writeHead(200, { 'content-length': response.length, 'content-type': 'application/octet-stream' }); res.end(response); });
});
server.listen(0, '127.0.0.1', () => process.stdout.write(JSON.stringify({ port: server.address().port }) + '\\n'));
process.stdin.on('end', () => process.exit(0)); process.stdin.resume();`;

async function startRawHttpsServerKeepAlive(ca: ReturnType<typeof makeTestCa>, downBytes: number) {
  const child = spawn(process.execPath, ['-e', SERVER], { stdio: ['pipe', 'pipe', 'inherit'], env: { ...process.env, KEY: ca.keyPath, CERT: ca.certPath, DOWN: String(downBytes) } });
  const port = await new Promise<number>((res, rej) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const m = /\{"port":(\d+)\}/.exec(out);
      if (m) res(Number(m[1]));
    });
    child.on('exit', (c) => rej(new Error(`bench server exited (${c})`)));
  });
  return {
    port,
    pid: child.pid!,
    close: () =>
      new Promise<void>((r) => {
        child.removeAllListeners('exit');
        child.on('exit', () => r());
        child.stdin.end();
      }),
  };
}

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] ? Number(process.argv[i + 1]) : def;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const opts: OverheadOptions = {
    rounds: arg('rounds', 7),
    requests: arg('requests', 300),
    fileReads: arg('file-reads', 200),
    upBytes: arg('up', 16384),
    downBytes: arg('down', 65536),
  };
  const oi = process.argv.indexOf('--objects');
  if (oi > 0 && process.argv[oi + 1]) opts.objects = process.argv[oi + 1]!.split(',');
  if (process.argv.includes('--no-decode')) opts.noDecode = true;
  if (process.argv.includes('--tls-cap')) opts.tlsCap = arg('tls-cap', 16384);
  if (process.argv.includes('--hog')) opts.hogs = arg('hog', 2);
  const load0 = loadavg()[0]!;
  runOverhead(opts)
    .then((r) => {
      const f = (x: number) => x.toFixed(1).padStart(9);
      console.log(`overhead: ${opts.requests} HTTPS POSTs (${opts.upBytes} B up, ${opts.downBytes} B down, keep-alive) + ${opts.fileReads} x 1 MiB file reads; ${opts.rounds} rounds, medians`);
      if (opts.hogs) console.log(`with ${opts.hogs} busy-loop process(es) beside it (CPU contention)`);
      console.log(`mode        wall ms    cpu ms  runq-wait ms  server cpu ms  server runq ms   wall ratio  cpu ratio   bench-process cpu ms (sensor poll thread + JS decode)`);
      for (const m of ['untraced', 'loaded', 'traced'] as Mode[]) {
        const rr = m === 'untraced' ? { wallMs: 1, cpuMs: 1 } : r.ratios[m];
        const md = r.medians[m];
        console.log(`${m.padEnd(9)} ${f(md.wallMs)} ${f(md.cpuMs)}    ${f(md.runDelayMs)}      ${f(md.serverCpuMs)}     ${f(md.serverRunDelayMs)}   ${rr.wallMs.toFixed(3).padStart(8)}  ${rr.cpuMs.toFixed(3).padStart(8)}   ${f(md.parentCpuMs)}`);
      }
      console.log(`uprobe attaching while the workload ran: loaded ${r.attachDuringRun.loaded.files} file(s) ${r.attachDuringRun.loaded.ms.toFixed(1)} ms, traced ${r.attachDuringRun.traced.files} file(s) ${r.attachDuringRun.traced.ms.toFixed(1)} ms`);
      console.log(`sensor teardown (stop() until the last uprobe fd closed, waited before the next run): ${r.sensorTeardownMs} ms median`);
      console.log(`traced run: ${r.tracedRecords} records, ${r.tracedTlsBytes} TLS plaintext bytes captured (per run)`);
      console.log(`drops: ${JSON.stringify(r.drops)}`);
      console.log(`load average (1 min) at start ${load0.toFixed(2)}, at end ${loadavg()[0]!.toFixed(2)} — on a busy machine the ratios are noise`);
      console.log(JSON.stringify({ bench: 'overhead', ...r }));
    })
    .catch((e) => {
      console.error(e);
      process.exit(1);
    });
}
