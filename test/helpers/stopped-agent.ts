/**
 * The two moves every "agent under the real sensor" test makes: start the HTTPS mock model
 * (llm-mock-server.ts) with a script, and start the agent stopped (it SIGSTOPs itself) so the
 * sensor can attach before its first syscall; the test sends SIGCONT once the sensor runs.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { distRoot, repoRoot } from '../../src/paths.js';
import { waitFor } from './wait-for.js';

/** Starts the mock model server (its default answers without a script); returns its port. Killed with `children` by the caller's cleanup. */
export async function startMockLlm(children: ChildProcess[], ca: { certPath: string; keyPath: string }, script?: unknown): Promise<number> {
  const mock = spawn(process.execPath, [join(distRoot, 'test', 'helpers', 'llm-mock-server.js'), '--cert', ca.certPath, '--key', ca.keyPath, ...(script === undefined ? [] : ['--script', JSON.stringify(script)])], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(mock);
  let out = '';
  mock.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  return waitFor('mock server', () => (out.includes('\n') ? (JSON.parse(out.split('\n')[0]!) as { port: number }).port : undefined), 15_000);
}

/** Starts test/integration/agents/<file> under node, stopped; `output()` is its stdout so far. */
export async function spawnStoppedAgent(children: ChildProcess[], file: string, env: NodeJS.ProcessEnv): Promise<{ agent: ChildProcess; output: () => string }> {
  let out = '';
  const agent = spawn('/bin/sh', ['-c', 'kill -STOP $$; exec "$@"', 'sh', process.execPath, join(repoRoot, 'test', 'integration', 'agents', file)], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(agent);
  agent.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  await waitFor('agent stopped', () => (/\) T /.test(readFileSync(`/proc/${agent.pid}/stat`, 'utf8')) ? true : undefined), 10_000);
  return { agent, output: () => out };
}
