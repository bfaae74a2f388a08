/**
 * Claude Code under the sensor (issue 10): first-request capture and the overhead of the hooks.
 *
 * 1. First-request capture, cold: --cold runs of `agentrail run -- claude -p …`, each with a fresh
 *    TLS locate cache (the 384 MB binary is a never-seen build-id every time) and a fresh sensor.
 *    A run counts as captured when the trail holds a model.invocation for every /v1/messages
 *    request the mock answered, the first one included (goal 100 %).
 * 2. First-request capture, warm: the same through one running sensor tracing a driver that starts
 *    --rounds fresh Claude Code processes (the binary is known; each process is new).
 * 3. Overhead: the driver's Claude Code sessions untraced vs traced (sensor started and ready before
 *    the driver is released, so start-up is not in the wall time), interleaved rounds, medians;
 *    also with --hog CPU busy loops beside it. Goal traced/untraced ≤ 1.03.
 *
 * Run (root): npm run build:ts && node dist/bench/claude-code.js [--cold 5] [--rounds 5] [--sessions 2] [--hog 2] [--version 2.1.332]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fork } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cliEntry, repoRoot } from '../src/paths.js';
import { makeTestCa, removeTestCa } from '../test/helpers/tls-server.js';
import { agentBin } from '../test/helpers/agent-bins.js';
import { procCpuMs, startSensorChild, stopChild } from './processes.js';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] ? process.argv[i + 1]! : def;
}
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length === 0 ? NaN : s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** The mock in its own process; it reports how many /v1/messages requests it answered. */
async function mockMain(): Promise<void> {
  const { startMockServer } = await import('../test/helpers/llm-mock-server.js');
  const mock = await startMockServer({ cert: process.env.CERT!, key: process.env.KEY!, script: { finalText: 'The notes mention one meeting.' } });
  process.send!({ port: mock.port });
  process.on('message', () => process.send!({ messages: mock.requests.filter((q) => q.path === '/v1/messages').length }));
}

// Waits for a line on stdin (the sensor is ready), then runs the Claude Code sessions one after the other.
const DRIVER = `
const { spawnSync } = require('node:child_process');
process.stdin.once('data', () => {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < +process.env.SESSIONS; i++) {
    const r = spawnSync(process.env.CLAUDE, ['-p', 'Say hello.', '--model', 'claude-haiku-4-5'], { env: process.env, encoding: 'utf8' });
    if (r.status !== 0) { console.error('session failed', r.status, r.stdout, r.stderr); process.exit(2); }
  }
  const f = require('node:fs').readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ');
  process.stdout.write(JSON.stringify({ wallMs: Number(process.hrtime.bigint() - t0) / 1e6, cpuMs: (+f[13] + +f[14]) * 10 }) + '\\n');
  process.exit(0);
});`;

function modelCalls(logDir: string): number {
  let n = 0;
  for (const f of readdirSync(join(logDir, 'segments')))
    for (const l of readFileSync(join(logDir, 'segments', f), 'utf8').split('\n')) if (l.includes('"type":"dev.agentrail.model.invocation"')) n++;
  return n;
}


async function main(): Promise<void> {
  const cold = Number(arg('cold', '5'));
  const rounds = Number(arg('rounds', '5'));
  const sessions = Number(arg('sessions', '2'));
  const hogs = Number(arg('hog', '2'));
  const claude = agentBin('claude', process.argv.includes('--version') ? arg('version', '') : undefined);
  const ca = makeTestCa(['localhost']);
  const work = mkdtempSync(join(tmpdir(), 'agentrail-claude-bench-'));
  const mock = fork(fileURLToPath(import.meta.url), ['--mock'], { env: { ...process.env, CERT: ca.certPath, KEY: ca.keyPath }, stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  const port = await new Promise<number>((r) => mock.once('message', (m) => r((m as { port: number }).port)));
  const served = () => new Promise<number>((r) => { mock.once('message', (m) => r((m as { messages: number }).messages)); mock.send('count'); });
  const home = join(work, 'home');
  mkdirSync(home, { recursive: true });
  const env: NodeJS.ProcessEnv = {
    ...process.env, HOME: home, CLAUDE: claude, SESSIONS: String(sessions), ANTHROPIC_API_KEY: 'sk-ant-api03-bench', ANTHROPIC_BASE_URL: `https://localhost:${port}`,
    NODE_EXTRA_CA_CERTS: ca.caPath, DISABLE_AUTOUPDATER: '1', CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
  };
  try {
    // 1. cold: fresh sensor, fresh locate cache, fresh Claude Code process.
    let coldCaptured = 0;
    const coldRatio: number[] = [];
    for (let i = 0; i < cold; i++) {
      const dir = mkdtempSync(join(work, 'cold-'));
      const before = await served();
      const r = await new Promise<number | null>((res) => {
        const c = spawn(process.execPath, [cliEntry, 'run', '--log-dir', join(dir, 'log'), '--config', writeCfg(dir), '--', claude, '-p', 'Say hello.', '--model', 'claude-haiku-4-5'], { env: { ...env, AGENTRAIL_ROOT: repoRoot, AGENTRAIL_TLS_CACHE_DIR: join(dir, 'tls-cache') }, stdio: 'ignore' });
        c.once('exit', (code) => res(code));
      });
      if (r !== 0) throw new Error(`cold run ${i} exited ${r}`);
      const asked = (await served()) - before;
      const seen = modelCalls(join(dir, 'log'));
      coldRatio.push(seen / asked);
      if (asked > 0 && seen >= asked) coldCaptured++;
    }
    // 2 + 3. one sensor per traced run (ready before release), interleaved with untraced runs.
    const runMode = async (traced: boolean) => {
      const dir = mkdtempSync(join(work, traced ? 'traced-' : 'untraced-'));
      const driver = spawn(process.execPath, ['-e', DRIVER], { env, stdio: ['pipe', 'pipe', 'inherit'] });
      let out = '';
      driver.stdout!.on('data', (d: Buffer) => (out += d.toString()));
      let sensor: ChildProcess | undefined;
      try {
        const before = await served();
        if (traced) sensor = await startSensorChild(['--pid', String(driver.pid)], dir, writeCfg(dir), env);
        const s0 = sensor ? procCpuMs(sensor.pid!) : 0;
        driver.stdin!.end('go\n');
        const code = await new Promise<number | null>((r) => driver.once('exit', (c) => r(c)));
        if (code !== 0) throw new Error(`driver failed (${code})`);
        const sensorCpuMs = sensor ? procCpuMs(sensor.pid!) - s0 : 0;
        await stopChild(sensor);
        const asked = (await served()) - before;
        const r = JSON.parse(out.trim().split('\n').pop()!) as { wallMs: number; cpuMs: number };
        return { ...r, sensorCpuMs, asked, seen: traced ? modelCalls(join(dir, 'log')) : 0 };
      } finally {
        await stopChild(sensor);
      }
    };
    const series = async (hog: number) => {
      const hogProcs = Array.from({ length: hog }, () => spawn('sh', ['-c', 'while :; do :; done'], { stdio: 'ignore' }));
      try {
        await runMode(false); // warm-up: page cache
        const u: Array<Awaited<ReturnType<typeof runMode>>> = [];
        const t: typeof u = [];
        for (let r = 0; r < rounds; r++) {
          if (r % 2 === 0) { u.push(await runMode(false)); t.push(await runMode(true)); }
          else { t.push(await runMode(true)); u.push(await runMode(false)); }
        }
        return {
          untracedMs: median(u.map((x) => x.wallMs)), tracedMs: median(t.map((x) => x.wallMs)),
          untracedCpuMs: median(u.map((x) => x.cpuMs)), tracedCpuMs: median(t.map((x) => x.cpuMs)), sensorCpuMs: median(t.map((x) => x.sensorCpuMs)),
          asked: t.reduce((a, x) => a + x.asked, 0), seen: t.reduce((a, x) => a + x.seen, 0),
        };
      } finally {
        for (const h of hogProcs) h.kill('SIGKILL');
      }
    };
    const quiet = await series(0);
    const contended = hogs > 0 ? await series(hogs) : undefined;
    console.log(`Claude Code ${claude.split('@').at(-1)?.split('/')[0]} against the local mock (claude -p, ${sessions} session(s) per run)`);
    console.log(`first-request capture, cold (fresh sensor, never-seen build-id): ${coldCaptured}/${cold} runs with every model call in the trail (per-run seen/asked ${coldRatio.map((x) => x.toFixed(2)).join(' ')})`);
    const row = (name: string, s: NonNullable<typeof contended>) =>
      console.log(`${name.padEnd(22)} untraced ${s.untracedMs.toFixed(0)} ms, traced ${s.tracedMs.toFixed(0)} ms → wall ×${(s.tracedMs / s.untracedMs).toFixed(3)}; session CPU ×${(s.tracedCpuMs / s.untracedCpuMs).toFixed(3)}; sensor CPU ${s.sensorCpuMs.toFixed(0)} ms/run; model calls in the trail ${s.seen}/${s.asked}`);
    row('idle machine', quiet);
    if (contended) row(`${hogs} CPU hogs beside it`, contended);
    console.log(JSON.stringify({
      bench: 'claude-code', node: process.version, cold, rounds, sessions,
      first_request_capture: { cold: coldCaptured / cold, warm: quiet.asked ? quiet.seen / quiet.asked : null },
      ratios: { traced: { wallMs: quiet.tracedMs / quiet.untracedMs, cpuMs: quiet.tracedCpuMs / quiet.untracedCpuMs }, ...(contended ? { contended: { wallMs: contended.tracedMs / contended.untracedMs } } : {}) },
      medians: { quiet, ...(contended ? { contended } : {}) },
    }));
  } finally {
    mock.kill('SIGTERM');
    rmSync(work, { recursive: true, force: true });
    removeTestCa(ca);
  }
}

function writeCfg(dir: string): string {
  const cfg = join(dir, 'config.yaml');
  writeFileSync(cfg, `observability:\n  httpPort: 0\nseal:\n  keyDir: ${join(dir, 'keys')}\n`);
  return cfg;
}

if (process.argv.includes('--mock')) await mockMain();
else await main();
