import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { cliEntry, repoRoot } from '../../src/paths.js';
import { waitFor } from './wait-for.js';

/** `agentrail run --pid PID` as a child, ready once the pipeline runs; stop() asserts a clean exit; stderr() is its log so far; healthPort() its /metrics port when the config enables it (httpPort: 0). */
export async function startSensor(children: ChildProcess[], pid: number, logDir: string, cfg: string): Promise<{ stop(): Promise<void>; stderr(): string; healthPort(): number | undefined }> {
  const sensor = spawn(process.execPath, [cliEntry, 'run', '--pid', String(pid), '--log-dir', logDir, '--config', cfg], { env: { ...process.env, AGENTRAIL_ROOT: repoRoot, AGENTRAIL_LOG_LEVEL: 'info' }, stdio: ['ignore', 'ignore', 'pipe'] });
  children.push(sensor);
  let err = '';
  sensor.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  await waitFor('sensor ready', () => {
    if (sensor.exitCode !== null) throw new Error(`sensor exited ${sensor.exitCode}: ${err.slice(-2000)}`);
    return err.includes('pipeline running') ? true : undefined;
  }, 60_000);
  return {
    stderr: () => err,
    healthPort: () => {
      const m = /"healthPort":(\d+)[^\n]*pipeline running/.exec(err);
      return m ? Number(m[1]) : undefined;
    },
    async stop() {
      sensor.kill('SIGTERM');
      assert.equal(await new Promise<number | null>((r) => sensor.on('exit', (c) => r(c))), 0, err.slice(-1500));
    },
  };
}
