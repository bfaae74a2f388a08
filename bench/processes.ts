import { readFileSync } from 'node:fs';
import type { ChildProcess } from 'node:child_process';

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
