import { readFileSync } from 'node:fs';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { cliEntry, repoRoot } from '../src/paths.js';

/** SIGTERM a child the benchmark started and wait for it to exit (no-op if gone already). */
export async function stopChild(c: ChildProcess | undefined): Promise<void> {
  if (!c || c.exitCode !== null || c.signalCode !== null) return;
  const done = new Promise<void>((r) => c.once('exit', () => r()));
  c.kill('SIGTERM');
  await done;
}

/** CPU (utime + stime) a process used so far, ms, from /proc/PID/stat (USER_HZ = 100). */
export function procCpuMs(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(f[11]) + Number(f[12])) * 10;
}

/** `agentrail run <args> --log-dir <dir>/log --config <cfg>` as a child, returned once its pipeline runs. */
export async function startSensorChild(args: string[], dir: string, cfg: string, env: NodeJS.ProcessEnv = process.env, nodeFlags: string[] = []): Promise<ChildProcess> {
  const child = spawn(process.execPath, [...nodeFlags, cliEntry, 'run', ...args, '--log-dir', join(dir, 'log'), '--config', cfg], {
    env: { ...env, AGENTRAIL_ROOT: repoRoot, AGENTRAIL_LOG_LEVEL: 'info' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const t0 = Date.now();
  while (!err.includes('pipeline running')) {
    if (child.exitCode !== null || Date.now() - t0 > 60_000) throw new Error(`sensor did not start: ${err.slice(-1500)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return child;
}
