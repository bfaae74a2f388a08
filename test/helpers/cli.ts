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
