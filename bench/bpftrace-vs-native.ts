/**
 * Native vs bpftrace collector throughput on the same load, as a ratio.
 * Load: a C loop of open("/dev/null") + close(), unpaced, for SECONDS; each
 * open is one file.open record (native: ar_file_open from bpf/file.bpf.c;
 * bpftrace: one printf line of bpf/agentrail.bt, parsed and encoded into the
 * same record). Each collector traces the loader alone (one after the other,
 * not concurrently, so they do not share the two cores). Reported per
 * collector: the loader's opens/s while traced, file.open records delivered
 * into JavaScript (decoded) per second, and the completeness (delivered /
 * opens performed; the rest is counted as lost/dropped by the collector),
 * and how long the collector still delivered after the load ended.
 * Then the same at a paced rate both keep up with (default 5,000 opens/s):
 * CPU time of the collector side per 1,000 records, as a ratio.
 *   npm run build && node dist/bench/bpftrace-vs-native.js [seconds=3] [paced_rate=5000]
 * Needs root, bpftrace and the built addon. Prints JSON; asserts nothing.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { decodeBatch } from '../src/decode/decode-batch.js';
import { BpftraceSource } from '../src/source/bpftrace-source.js';
import { NativeSource } from '../src/source/native-source.js';
import { emptySelection, type RawSource } from '../src/source/source.js';

const SECONDS = Number(process.argv[2] ?? 3);
const PACED = Number(process.argv[3] ?? 5000);
const dir = mkdtempSync(join(tmpdir(), 'agentrail-bench-bt-'));
const src = join(dir, 'openload.c');
const bin = join(dir, 'openload');
writeFileSync(
  src,
  `#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }
int main(int argc, char **argv) {
  double secs = atof(argv[1]);
  double rate = argc > 2 ? atof(argv[2]) : 0; /* opens per second, 0 = unpaced */
  char line[8];
  if (!fgets(line, sizeof line, stdin)) return 1;
  long n = 0;
  double t0 = now(), t = t0;
  while (t - t0 < secs) {
    for (int i = 0; i < 256; i++) { int fd = open("/dev/null", O_RDONLY); if (fd >= 0) close(fd); n++; }
    t = now();
    if (rate > 0) { double due = t0 + n / rate; if (due > t) { usleep((useconds_t)((due - t) * 1e6)); t = now(); } }
  }
  printf("%ld %.6f\\n", n, t - t0);
  return 0;
}
`,
);
if (spawnSync('cc', ['-O2', '-o', bin, src], { stdio: 'inherit' }).status !== 0) throw new Error('cannot compile the load generator');

interface Result {
  collector: string;
  opens: number;
  loaderOpensPerSec: number;
  delivered: number;
  /** file.open records delivered per second of load (delivered / loader run time). */
  deliveredPerSec: number;
  /** seconds from the loader's end to the last delivery (user-space backlog). */
  drainSeconds: number;
  completeness: number;
  /** CPU time of the collector side (this process, plus bpftrace's) per 1,000 delivered records. */
  cpuMsPerThousand: number;
  counters: Record<string, number>;
}

/** utime + stime of a process in ms (/proc/PID/stat fields 14 and 15, in clock ticks of 10 ms). */
function procCpuMs(pid: number | undefined): number {
  if (!pid) return 0;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) * 10;
  } catch {
    return 0;
  }
}

async function trial(name: string, rate: number, make: (pid: number) => RawSource & { start(): unknown; pid?: number }): Promise<Result> {
  const child = spawn(bin, [String(SECONDS), String(rate)], { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  const closed = new Promise<void>((r) => child.on('close', () => r()));
  const source = make(child.pid!);
  await source.start();
  let delivered = 0;
  let lastAt = 0;
  const pump = (async () => {
    for await (const b of source.batches()) {
      for (const e of decodeBatch(b)) {
        if (e.kind === 'file.open' && e.pid === child.pid && e.path === '/dev/null') {
          delivered++;
          lastAt = performance.now();
        }
      }
    }
  })();
  const cpu0 = process.cpuUsage();
  const ext0 = procCpuMs(source.pid);
  child.stdin!.end('\n');
  await closed;
  const loaderEnd = performance.now();
  // let the collector drain what is still queued (bpftrace formats in user space)
  for (let prev = -1; prev !== delivered; ) {
    prev = delivered;
    await sleep(500);
  }
  const cpu = process.cpuUsage(cpu0);
  const cpuMs = (cpu.user + cpu.system) / 1000 + procCpuMs(source.pid) - ext0;
  await source.stop();
  await pump;
  const [n, secs] = out.trim().split(' ').map(Number) as [number, number];
  return {
    collector: name,
    opens: n,
    loaderOpensPerSec: Math.round(n / secs),
    delivered,
    deliveredPerSec: Math.round(delivered / secs),
    drainSeconds: Number((Math.max(0, lastAt - loaderEnd) / 1000).toFixed(2)),
    completeness: Number((delivered / n).toFixed(4)),
    cpuMsPerThousand: Number((cpuMs / Math.max(1, delivered / 1000)).toFixed(2)),
    counters: source.counters(),
  };
}

try {
  const mkNative = (pid: number) => new NativeSource({ selection: { ...emptySelection(), pids: [pid] }, objects: ['process', 'file'], flushIntervalMs: 0 });
  const mkBt = (pid: number) => new BpftraceSource({ selection: { ...emptySelection(), pids: [pid] }, tls: false });
  const out: Record<string, unknown> = { seconds: SECONDS };
  // 1. unpaced: how many records per second each collector gets into JavaScript
  const native = await trial('native', 0, mkNative);
  const bt = await trial('bpftrace', 0, mkBt);
  out.unpaced = {
    native,
    bpftrace: bt,
    ratioDeliveredPerSec: Number((native.deliveredPerSec / Math.max(1, bt.deliveredPerSec)).toFixed(2)),
    ratioLoaderSpeed: Number((native.loaderOpensPerSec / Math.max(1, bt.loaderOpensPerSec)).toFixed(2)),
  };
  // 2. paced at a rate both should sustain: CPU cost per record
  const nP = await trial('native', PACED, mkNative);
  const bP = await trial('bpftrace', PACED, mkBt);
  out.paced = { rate: PACED, native: nP, bpftrace: bP, ratioCpuPerRecord: Number((bP.cpuMsPerThousand / Math.max(0.001, nP.cpuMsPerThousand)).toFixed(2)) };
  console.log(JSON.stringify(out, null, 2));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
