/**
 * Native vs bpftrace collector throughput on the same load, as a ratio.
 * Load: a C loop of open("/dev/null") + close(), unpaced, for SECONDS; each
 * open is one file.open record (native: ar_file_open from bpf/file.bpf.c;
 * bpftrace: one printf line of bpf/agentrail.bt, parsed and encoded into the
 * same record). Each collector traces the loader alone (one after the other,
 * not concurrently, so they do not share the two cores). Reported per
 * collector: the loader's opens/s while traced, file.open records delivered
 * into JavaScript (decoded) per second, and the completeness (delivered /
 * opens performed; the rest is counted as lost/dropped by the collector).
 *   npm run build && node dist/bench/bpftrace-vs-native.js [seconds]
 * Needs root, bpftrace and the built addon. Prints JSON; asserts nothing.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { decodeBatch } from '../src/decode/decode-batch.js';
import { BpftraceSource } from '../src/source/bpftrace-source.js';
import { NativeSource } from '../src/source/native-source.js';
import { emptySelection, type RawSource } from '../src/source/source.js';

const SECONDS = Number(process.argv[2] ?? 3);
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
  char line[8];
  if (!fgets(line, sizeof line, stdin)) return 1;
  long n = 0;
  double t0 = now(), t = t0;
  while (t - t0 < secs) {
    for (int i = 0; i < 256; i++) { int fd = open("/dev/null", O_RDONLY); if (fd >= 0) close(fd); n++; }
    t = now();
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
  deliveredPerSec: number;
  completeness: number;
  counters: Record<string, number>;
}

async function trial(name: string, make: (pid: number) => RawSource & { start(): unknown }): Promise<Result> {
  const child = spawn(bin, [String(SECONDS)], { stdio: ['pipe', 'pipe', 'inherit'] });
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
  const t0 = performance.now();
  child.stdin!.end('\n');
  await closed;
  // let the collector drain what is still queued (bpftrace formats in user space)
  for (let prev = -1; prev !== delivered; ) {
    prev = delivered;
    await sleep(500);
  }
  await source.stop();
  await pump;
  const [n, secs] = out.trim().split(' ').map(Number) as [number, number];
  const span = Math.max(secs, (lastAt - t0) / 1000);
  return {
    collector: name,
    opens: n,
    loaderOpensPerSec: Math.round(n / secs),
    delivered,
    deliveredPerSec: Math.round(delivered / span),
    completeness: Number((delivered / n).toFixed(4)),
    counters: source.counters(),
  };
}

try {
  const native = await trial('native', (pid) => new NativeSource({ selection: { ...emptySelection(), pids: [pid] }, objects: ['process', 'file'], flushIntervalMs: 0 }));
  const bt = await trial('bpftrace', (pid) => new BpftraceSource({ selection: { ...emptySelection(), pids: [pid] }, tls: false }));
  console.log(
    JSON.stringify(
      {
        seconds: SECONDS,
        native,
        bpftrace: bt,
        ratioDeliveredPerSec: Number((native.deliveredPerSec / Math.max(1, bt.deliveredPerSec)).toFixed(2)),
        ratioLoaderSpeed: Number((native.loaderOpensPerSec / Math.max(1, bt.loaderOpensPerSec)).toFixed(2)),
      },
      null,
      2,
    ),
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
