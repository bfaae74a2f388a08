/**
 * Overhead of the sensor on a realistic agent session: the real `openai` SDK agent
 * (test/integration/agents/node-session-agent.mjs) against the local HTTPS mock (throwaway CA),
 * streaming model calls, and real tools: it reads files, runs shell commands (sh, git, ls, wc) and
 * writes files. One run = --sessions agent processes one after the other, started by a node driver.
 *
 * Modes, interleaved round by round, each also with --hog busy loops beside it:
 *   untraced — no sensor;
 *   loaded   — `agentrail run --pid <an idle process>`: the whole sensor up (probes, pipeline), the
 *              session not traced;
 *   traced   — `agentrail run --pid <driver>`: the driver and every process it starts traced, events
 *              built, sealed and written to the local log.
 * The sensor is started and ready (“pipeline running”) before the driver is released, so its start-up
 * is not in the wall time; the driver is a node process, so node's TLS is attached at sensor start as
 * on a machine where agents already ran. Reported: median wall time per mode and the ratio to untraced.
 *
 * Run (root): npm run build:ts && node dist/bench/agent-session.js [--rounds 5] [--sessions 3] [--hog 2]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { repoRoot } from '../src/paths.js';
import { makeTestCa, removeTestCa, type TestCa } from '../test/helpers/tls-server.js';
import { procCpuMs, startSensorChild, stopChild } from './processes.js';

type Mode = 'untraced' | 'loaded' | 'traced';
const MODES: Mode[] = ['untraced', 'loaded', 'traced'];

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] ? Number(process.argv[i + 1]) : def;
}
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** The mock in its own process (as a remote API would be), on the tool loop the agent follows. */
async function mockMain(): Promise<void> {
  const { startMockServer } = await import('../test/helpers/llm-mock-server.js');
  const work = process.env.WORKDIR!;
  const mock = await startMockServer({
    cert: process.env.CERT!,
    key: process.env.KEY!,
    script: {
      toolCalls: [
        { name: 'read_file', arguments: { path: join(work, 'notes.md') } },
        { name: 'run_shell', arguments: { command: 'ls -la . && wc -c notes.md && git --version' } },
        { name: 'read_file', arguments: { path: join(work, 'src.js') } },
        { name: 'run_shell', arguments: { command: 'grep -c function src.js; sha256sum src.js' } },
        { name: 'write_file', arguments: { path: join(work, 'summary.md'), content: 'summary: '.repeat(200) } },
      ],
      finalText: 'Done: notes read, files checked, summary written.',
    },
  });
  process.send!({ port: mock.port });
}

// Waits for a line on stdin (the sensor is ready), then runs the sessions one after the other.
const DRIVER = `
const { spawnSync } = require('node:child_process');
process.stdin.once('data', () => {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < +process.env.SESSIONS; i++) {
    const r = spawnSync(process.execPath, [process.env.AGENT], { env: process.env, encoding: 'utf8' });
    if (r.status !== 0 || !/"turns":5/.test(r.stdout)) { console.error('session failed', r.status, r.stdout, r.stderr); process.exit(2); }
  }
  // cutime + cstime: CPU of the reaped sessions and everything they ran (USER_HZ = 100), in the BPF programs too.
  const f = require('node:fs').readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ');
  process.stdout.write(JSON.stringify({ wallMs: Number(process.hrtime.bigint() - t0) / 1e6, cpuMs: (+f[13] + +f[14]) * 10 }) + '\\n');
  process.exit(0);
});`;

async function startSensor(pid: number, dir: string): Promise<ChildProcess> {
  const cfg = join(dir, 'config.yaml');
  // AGENTRAIL_BENCH_NICE overrides collector.nice (default 5) to compare.
  writeFileSync(cfg, `observability:\n  httpPort: 0\n${process.env.AGENTRAIL_BENCH_NICE ? `collector:\n  nice: ${process.env.AGENTRAIL_BENCH_NICE}\n` : ''}`);
  return startSensorChild(['--pid', String(pid)], dir, cfg, process.env, ['--max-semi-space-size=4']);
}

interface Run {
  wallMs: number;
  /** CPU of the sessions and every process they started. */
  cpuMs: number;
  /** CPU of the sensor process while the sessions ran. */
  sensorCpuMs: number;
}

async function oneRun(mode: Mode, env: NodeJS.ProcessEnv): Promise<Run> {
  const driver = spawn(process.execPath, ['-e', DRIVER], { env, stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  driver.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  const dir = mkdtempSync(join(tmpdir(), 'agentrail-session-'));
  const idle = mode === 'loaded' ? spawn('sleep', ['600'], { stdio: 'ignore' }) : undefined;
  let sensor: ChildProcess | undefined;
  try {
    if (mode !== 'untraced') sensor = await startSensor(mode === 'traced' ? driver.pid! : idle!.pid!, dir);
    const s0 = sensor ? procCpuMs(sensor.pid!) : 0;
    driver.stdin!.end('go\n');
    const code = await new Promise<number | null>((r) => driver.once('exit', (c) => r(c)));
    const sensorCpuMs = sensor ? procCpuMs(sensor.pid!) - s0 : 0;
    if (code !== 0) throw new Error(`driver failed (${code})`);
    const r = JSON.parse(out.trim().split('\n').pop()!) as { wallMs: number; cpuMs: number };
    return { wallMs: r.wallMs, cpuMs: r.cpuMs, sensorCpuMs };
  } finally {
    await stopChild(sensor);
    idle?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}

type Medians = Record<Mode, number> & { cpu: Record<Mode, number>; sensorCpu: Record<Mode, number> };

async function series(env: NodeJS.ProcessEnv, rounds: number, hogs: number): Promise<Medians> {
  const hogProcs = Array.from({ length: hogs }, () => spawn('sh', ['-c', 'while :; do :; done'], { stdio: 'ignore' }));
  try {
    await oneRun('untraced', env); // warm-up: page cache, the SDK's modules
    const runs: Record<Mode, Run[]> = { untraced: [], loaded: [], traced: [] };
    for (let r = 0; r < rounds; r++) {
      for (const m of r % 2 === 0 ? MODES : [...MODES].reverse()) runs[m].push(await oneRun(m, env));
    }
    const med = (k: keyof Run) => Object.fromEntries(MODES.map((m) => [m, median(runs[m].map((x) => x[k]))])) as Record<Mode, number>;
    return { ...med('wallMs'), cpu: med('cpuMs'), sensorCpu: med('sensorCpuMs') };
  } finally {
    for (const h of hogProcs) h.kill('SIGKILL');
  }
}

async function main(): Promise<void> {
  const rounds = arg('rounds', 5);
  const sessions = arg('sessions', 3);
  const hogs = arg('hog', 2);
  const ca: TestCa = makeTestCa();
  const work = mkdtempSync(join(tmpdir(), 'agentrail-session-work-'));
  writeFileSync(join(work, 'notes.md'), '# Notes\n' + 'The build is slow; check the tests and the parser.\n'.repeat(400));
  writeFileSync(join(work, 'src.js'), 'function f(x) { return x + 1; }\n'.repeat(2000));
  const mock = fork(fileURLToPath(import.meta.url), ['--mock'], { env: { ...process.env, CERT: ca.certPath, KEY: ca.keyPath, WORKDIR: work }, stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  const port = await new Promise<number>((r) => mock.once('message', (m) => r((m as { port: number }).port)));
  const env = { ...process.env, MOCK_URL: `https://localhost:${port}`, WORKDIR: work, NODE_EXTRA_CA_CERTS: ca.caPath, SESSIONS: String(sessions), AGENT: join(repoRoot, 'test', 'integration', 'agents', 'node-session-agent.mjs') };
  const load0 = loadavg()[0]!;
  try {
    const quiet = await series(env, rounds, 0);
    const contended = hogs > 0 ? await series(env, rounds, hogs) : undefined;
    const ratios = (x: Record<Mode, number>) => ({ loaded: x.loaded / x.untraced, traced: x.traced / x.untraced });
    console.log(`agent session: ${sessions} openai-SDK agent processes x 5 tool turns (read, shell, write) + streamed model calls; ${rounds} rounds, medians`);
    console.log('wall ms (cpu ms of the sessions, sensor cpu ms)   untraced            loaded                traced          loaded/untraced  traced/untraced  traced cpu ratio');
    const line = (name: string, x: Medians) => {
      const r = ratios(x);
      const cell = (m: Mode) => `${x[m].toFixed(0)} (${x.cpu[m].toFixed(0)}, ${x.sensorCpu[m].toFixed(0)})`.padStart(19);
      console.log(`${name.padEnd(48)} ${cell('untraced')} ${cell('loaded')} ${cell('traced')}   ${r.loaded.toFixed(3).padStart(14)}   ${r.traced.toFixed(3).padStart(14)}   ${(x.cpu.traced / x.cpu.untraced).toFixed(3).padStart(14)}`);
    };
    line('idle machine', quiet);
    if (contended) line(`${hogs} CPU hogs beside it`, contended);
    console.log(`load average (1 min) at start ${load0.toFixed(2)}, at end ${loadavg()[0]!.toFixed(2)}`);
    console.log(
      JSON.stringify({
        bench: 'agent-session',
        node: process.version,
        rounds,
        sessions,
        medians: { quiet, ...(contended ? { contended } : {}) },
        ratios: { traced: { wallMs: ratios(quiet).traced }, loaded: { wallMs: ratios(quiet).loaded }, ...(contended ? { contended: ratios(contended) } : {}) },
      }),
    );
  } finally {
    mock.kill('SIGTERM');
    rmSync(work, { recursive: true, force: true });
    removeTestCa(ca);
  }
}

if (process.argv.includes('--mock')) await mockMain();
else await main();
