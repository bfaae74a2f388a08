import { spawn, spawnSync, type SpawnOptions } from 'node:child_process';
import { cliEntry, repoRoot } from '../../src/paths.js';

/** Run the real CLI (compiled) to completion. */
export function runCli(args: string[], opts: { env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number } = {}) {
  const r = spawnSync(process.execPath, [cliEntry, ...args], {
    cwd: repoRoot,
    env: { ...process.env, AGENTRAIL_ROOT: repoRoot, ...opts.env },
    input: opts.input,
    timeout: opts.timeoutMs ?? 120_000,
    maxBuffer: 256 * 1024 * 1024,
  });
  return { status: r.status, signal: r.signal, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

/** Start the real CLI in the background. */
export function spawnCli(args: string[], opts: SpawnOptions = {}) {
  return spawn(process.execPath, [cliEntry, ...args], {
    cwd: repoRoot,
    ...opts,
    env: { ...process.env, AGENTRAIL_ROOT: repoRoot, ...(opts.env ?? {}) },
  });
}

/** Run the real CLI to completion without blocking this process (its servers keep answering). */
export function runCliAsync(args: string[], opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const child = spawnCli(args, { env: opts.env, stdio: ['ignore', 'pipe', 'pipe'] });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout?.on('data', (d: Buffer) => out.push(d));
  child.stderr?.on('data', (d: Buffer) => err.push(d));
  const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
  return new Promise((resolve) =>
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() });
    }),
  );
}
