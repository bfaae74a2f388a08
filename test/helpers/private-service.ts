import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A private instance of a development service (scripts/kafka.mjs, scripts/opensearch.mjs) for
 * fault-injection tests (SIGKILL, restart on the same ports and data), so the shared one is never
 * disturbed: its own cache dir (state, data, log) through the script's cache variable; the jars
 * are shared.
 */
export class PrivateService<State> {
  readonly cache: string;

  constructor(
    private readonly scriptPath: string,
    private readonly env: (cache: string) => NodeJS.ProcessEnv,
  ) {
    this.cache = mkdtempSync(join(tmpdir(), 'agentrail-service-'));
  }

  private script(cmd: string): void {
    const r = spawnSync(process.execPath, [this.scriptPath, cmd], { env: { ...process.env, ...this.env(this.cache) }, encoding: 'utf8', timeout: 180_000 });
    if (r.status !== 0) throw new Error(`${this.scriptPath} ${cmd} failed: ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`);
  }

  state(): State {
    return JSON.parse(readFileSync(join(this.cache, 'state.json'), 'utf8')) as State;
  }

  start(): State {
    this.script('start');
    return this.state();
  }
  /** SIGKILL, keeping data and ports. */
  kill(): void {
    this.script('kill');
  }
  /** Start again on the same ports and data. */
  restart(): void {
    this.script('restart');
  }
  stop(): void {
    try {
      this.script('stop');
    } catch {
      /* already gone */
    }
  }
}
