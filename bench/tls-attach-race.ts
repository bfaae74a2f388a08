/**
 * How often the FIRST request of a short-lived client is captured when its
 * TLS library was never seen before (dynamic attach from the mmap record,
 * racing the client's first SSL call). Each run copies the system libssl to a
 * fresh directory (new inode), runs `curl --http1.1` with LD_LIBRARY_PATH
 * pointing there, traced from its first instruction, and checks whether its
 * SSL_write was captured.
 *
 * Run (root): npm run build:ts && node dist/bench/tls-attach-race.js [--runs 20] [--libssl /path/libssl.so.3]
 */
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createSensor } from '../src/native/addon.js';
import { decodeBatch } from '../src/decode/decode-batch.js';
import type { RawEvent } from '../src/contracts/raw-event.js';
import { makeTestCa, removeTestCa, startRawHttpsServer } from '../test/helpers/tls-server.js';

function findLibssl(): string {
  const r = spawnSync('ldconfig', ['-p'], { encoding: 'utf8' });
  const m = /libssl\.so\.3 .*=> (\S+)/.exec(r.stdout ?? '');
  if (!m) throw new Error('libssl.so.3 not found by ldconfig -p; pass --libssl');
  return m[1]!;
}

export async function runAttachRace(runs: number, libssl: string) {
  const ca = makeTestCa();
  const server = await startRawHttpsServer(ca, () => 100);
  const events: RawEvent[] = [];
  const sensor = createSensor({ flushIntervalMs: 0 });
  let captured = 0;
  const recordToLive: number[] = [];
  try {
    sensor.start((b) => {
      if (b) for (const e of decodeBatch(b)) events.push(e);
    });
    const deadline = Date.now() + 10_000;
    while ((sensor.counters().observers.tls_files_attached ?? 0) === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    for (let i = 0; i < runs; i++) {
      const dir = mkdtempSync(join(tmpdir(), 'agentrail-race-'));
      copyFileSync(libssl, join(dir, 'libssl.so.3'));
      const before = sensor.counters().observers.tls_attach_ns_total ?? 0;
      const child = spawn('sh', ['-c', 'read _go; exec "$@"', 'sh', 'curl', '-s', '--http1.1', '--cacert', ca.caPath, '-d', 'race',
        '-o', '/dev/null', `https://localhost:${server.port}/race`], { stdio: ['pipe', 'ignore', 'ignore'], env: { ...process.env, LD_LIBRARY_PATH: dir } });
      sensor.addPid(child.pid!);
      child.stdin.end('\n');
      await new Promise((r) => child.on('exit', r));
      const end = Date.now() + 3000;
      while (!events.some((e) => e.kind === 'proc.exit' && e.pid === child.pid) && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
      if (events.some((e) => e.kind === 'tls.data' && e.pid === child.pid && e.direction === 0)) captured++;
      recordToLive.push(((sensor.counters().observers.tls_attach_ns_total ?? 0) - before) / 1e6);
      rmSync(dir, { recursive: true, force: true });
    }
  } finally {
    sensor.stop();
    await server.close();
    removeTestCa(ca);
  }
  recordToLive.sort((a, b) => a - b);
  return { runs, captured, attachMsMedian: recordToLive[recordToLive.length >> 1] ?? 0, attachMsMax: recordToLive[recordToLive.length - 1] ?? 0 };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const i = process.argv.indexOf('--runs');
  const runs = i > 0 ? Number(process.argv[i + 1]) : 20;
  const j = process.argv.indexOf('--libssl');
  const lib = j > 0 ? process.argv[j + 1]! : findLibssl();
  runAttachRace(runs, lib)
    .then((r) => {
      console.log(`curl with a never-seen libssl (fresh inode each run): first request captured in ${r.captured}/${r.runs} runs; ` +
        `attach time of the new file: median ${r.attachMsMedian.toFixed(1)} ms, max ${r.attachMsMax.toFixed(1)} ms`);
      console.log(JSON.stringify({ bench: 'tls-attach-race', ...r }));
    })
    .catch((e) => {
      console.error(e);
      process.exit(1);
    });
}
