import { spawn, type ChildProcess } from 'node:child_process';
import { constants } from 'node:os';
import { readFileSync } from 'node:fs';
import { AgentrailError } from '../errors.js';

/**
 * `agentrail run -- CMD ARGS…`: start CMD stopped (a shell that SIGSTOPs
 * itself, then execs CMD in place), so the sensor traces it from its first
 * instruction: the caller adds the pid to the selection, starts the probes,
 * then calls `resume()`. stdio is inherited; the exit code is CMD's.
 */
export interface Launched {
  child: ChildProcess;
  pid: number;
  resume(): void;
  /** Resolves with CMD's exit code (128 + signal number when killed). */
  exited: Promise<number>;
}

function isStopped(pid: number): boolean {
  try {
    // /proc/<pid>/stat: "pid (comm) S …" — comm may hold spaces or parens, so read after the last ')'.
    const st = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return st.slice(st.lastIndexOf(')') + 2, st.lastIndexOf(')') + 3) === 'T';
  } catch {
    return false;
  }
}

/**
 * `stdoutToStderr`: when agentrail itself writes events to stdout, the traced
 * command's stdout goes to stderr instead, so the command can never print
 * lines that pass for events in the event stream.
 */
export async function launchStopped(command: string[], opts: { stdoutToStderr?: boolean } = {}): Promise<Launched> {
  if (command.length === 0) throw new AgentrailError('USAGE', 'no command after --');
  const child = spawn('/bin/sh', ['-c', 'kill -STOP $$; exec "$@"', 'agentrail-launch', ...command], { stdio: opts.stdoutToStderr ? ['inherit', 2, 'inherit'] : 'inherit' });
  const pid = child.pid;
  if (pid === undefined) throw new AgentrailError('USAGE_LAUNCH', `cannot start ${command[0]}`);
  const exited = new Promise<number>((resolve) =>
    child.on('exit', (code, sig) => resolve(code ?? 128 + (sig ? constants.signals[sig] : 0))),
  );
  const until = Date.now() + 10_000;
  while (!isStopped(pid)) {
    if (child.exitCode !== null || Date.now() > until) throw new AgentrailError('USAGE_LAUNCH', `cannot start ${command[0]} stopped`);
    await new Promise((r) => setTimeout(r, 5));
  }
  return { child, pid, exited, resume: () => process.kill(pid, 'SIGCONT') };
}

