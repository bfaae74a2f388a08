/**
 * A V8 CPU profile of the running sensor, for finding where its time goes on a real workload
 * (docs/performance.md). `node --cpu-prof` cannot be used on `agentrail run`: its sampling signals
 * interrupt the kernel's BPF verifier at start (bpf() returns EAGAIN and the load fails), so the
 * profiler starts here once the probes are loaded, and the profile is written at stop.
 * Set AGENTRAIL_CPU_PROFILE=<file.cpuprofile>; open it in Chrome DevTools or speedscope.
 */
import { Session } from 'node:inspector';
import { writeFileSync } from 'node:fs';
import { childLogger } from './logger.js';

const log = childLogger('observability');

export interface CpuProfile {
  /** Stop sampling and write the profile; never throws (a failure is one log line). */
  stop(): Promise<void>;
}

export function startCpuProfile(file: string): CpuProfile {
  const session = new Session();
  session.connect();
  const post = (method: string, params?: object) =>
    new Promise<unknown>((resolve, reject) => session.post(method, params ?? {}, (err, res) => (err ? reject(err) : resolve(res))));
  const started = post('Profiler.enable').then(() => post('Profiler.start'));
  log.info({ file }, 'cpu profile started');
  return {
    async stop() {
      try {
        await started;
        const { profile } = (await post('Profiler.stop')) as { profile: unknown };
        writeFileSync(file, JSON.stringify(profile));
        log.info({ file }, 'cpu profile written');
      } catch (e) {
        log.error({ file, err: (e as Error).message }, 'cpu profile failed');
      } finally {
        session.disconnect();
      }
    },
  };
}
