/**
 * Cost of kernel enforcement (bpf/enforce.bpf.c) on a traced process's
 * open/close loop, three modes interleaved round by round in one run:
 *   base — sensor with the process object only (no enforce object);
 *   off  — process + enforce objects, no enforce rule (the default);
 *   on   — process + enforce, lists loaded (1000 exact open paths with their
 *          inodes, 10 directory prefixes, 100 exec paths, 100 connect
 *          destinations), none matching the workload.
 * Reported: median child CPU (user + system, which includes the BPF programs
 * run in its context) per open+close in ns, and ratios to base.
 *
 * Run (root): npm run build && node dist/bench/enforce.js [--rounds 5] [--opens 100000]
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSensor } from '../src/native/addon.js';
import { NativeKernelEnforcer } from '../src/policy/kernel-enforcer.js';
import type { EnforceLists } from '../src/policy/enforcer.js';

type Mode = 'base' | 'off' | 'on';

const WORKLOAD = `
const fs = require('node:fs');
const f = process.env.FILE, n = +process.env.OPENS;
const t0 = process.cpuUsage();
for (let i = 0; i < n; i++) fs.closeSync(fs.openSync(f, 'r'));
const c = process.cpuUsage(t0);
process.stdout.write(JSON.stringify({ cpuUs: c.user + c.system }));
`;

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : def;
}

function lists(dir: string): EnforceLists {
  const openDeny = [];
  for (let i = 0; i < 1000; i++) {
    const p = join(dir, `denied-${i}`);
    writeFileSync(p, 'x');
    openDeny.push({ target: p, rule: 0 });
  }
  for (let i = 0; i < 10; i++) openDeny.push({ target: `/denied-dir-${i}/`, rule: 0 });
  return {
    openDeny,
    execDeny: Array.from({ length: 100 }, (_, i) => ({ target: `/opt/denied/bin-${i}`, rule: 0 })),
    connectAllow: Array.from({ length: 100 }, (_, i) => ({ target: `10.${i}.0.0/16:443`, rule: 0 })),
  };
}

async function round(mode: Mode, file: string, opens: number, l: EnforceLists): Promise<number> {
  const child = spawn('/bin/sh', ['-c', 'kill -STOP $$; exec "$@"', 'sh', process.execPath, '-e', WORKLOAD], {
    env: { ...process.env, FILE: file, OPENS: String(opens) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  const done = new Promise<void>((r) => child.on('exit', () => r()));
  // the shell stops itself; trace it from its first instruction after that
  while (!/\) T /.test(readFileSync(`/proc/${child.pid}/stat`, 'utf8'))) await new Promise((r) => setTimeout(r, 10));
  const sensor = createSensor({ objects: mode === 'base' ? ['process'] : ['process', 'enforce'], pids: [child.pid!] });
  sensor.start(() => undefined);
  if (mode === 'on') new NativeKernelEnforcer(sensor).apply(l);
  process.kill(child.pid!, 'SIGCONT');
  await done;
  sensor.stop();
  return (JSON.parse(out) as { cpuUs: number }).cpuUs;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const rounds = arg('--rounds', 5);
  const opens = arg('--opens', 100_000);
  const dir = mkdtempSync(join(tmpdir(), 'ar-bench-enforce-'));
  try {
    const file = join(dir, 'allowed.txt');
    writeFileSync(file, 'x');
    const l = lists(dir);
    const cpu: Record<Mode, number[]> = { base: [], off: [], on: [] };
    for (let r = 0; r < rounds; r++) for (const m of ['base', 'off', 'on'] as Mode[]) cpu[m].push(await round(m, file, opens, l));
    const ns = (m: Mode) => (median(cpu[m]) * 1000) / opens;
    const res = { opens, rounds, nsPerOpen: { base: ns('base'), off: ns('off'), on: ns('on') }, ratioOff: ns('off') / ns('base'), ratioOn: ns('on') / ns('base') };
    console.log(`open+close of a traced process, median child CPU over ${rounds} rounds of ${opens}:`);
    for (const m of ['base', 'off', 'on'] as Mode[]) console.log(`  ${m.padEnd(4)} ${ns(m).toFixed(0)} ns   ×${(ns(m) / ns('base')).toFixed(3)}`);
    console.log(JSON.stringify(res));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

void main();
