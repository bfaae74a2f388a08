import { parseArgs } from 'node:util';
import { AgentrailError } from '../errors.js';
import { loadConfigFile } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { buildSelection } from '../source/selection.js';
import type { Selection } from '../source/source.js';

/** Options shared by `run` and `record`: collector, replay, output, duration, selection, config. */
export const COLLECTOR_OPTIONS = {
  collector: { type: 'string' },
  replay: { type: 'string' },
  realtime: { type: 'boolean' },
  out: { type: 'string', short: 'o' },
  duration: { type: 'string' },
  pid: { type: 'string', multiple: true },
  cgroup: { type: 'string', multiple: true },
  comm: { type: 'string', multiple: true },
  all: { type: 'boolean' },
  config: { type: 'string', short: 'c' },
  help: { type: 'boolean', short: 'h' },
} as const;

export const COLLECTOR_USAGE = `  --collector native|bpftrace   kernel collector (default: config collector.kind, native)
  --replay FILE                 read a capture file instead of the kernel
  --realtime                    with --replay: pace by the recorded timestamps
  --duration SECONDS            stop after this long (default: until SIGINT/SIGTERM or end of replay)
  --pid N                       trace this process and its children (repeatable)
  --cgroup PATH|ID              trace a cgroup v2 (path under /sys/fs/cgroup, or id) (repeatable)
  --comm NAME                   trace processes that exec NAME, and their children (repeatable)
  --all                         trace every process
  --config FILE                 configuration file (YAML/JSON)`;

export interface CollectorCli {
  config: Readonly<Config>;
  collector: 'native' | 'bpftrace';
  replay: string | undefined;
  realtime: boolean;
  out: string;
  durationMs: number | undefined;
  selection: Selection;
  /** `-- CMD ARGS…`: a command to launch and trace from its first instruction. */
  command: string[];
}

export function usageError(msg: string): AgentrailError {
  return new AgentrailError('USAGE', msg, { hint: 'see --help' });
}

/** Parses and validates; extra boolean flags of a command are passed in `extra`. */
export function parseCollectorArgs<E extends Record<string, { type: 'boolean' | 'string'; short?: string }>>(
  argv: string[],
  extra: E,
): { cli: CollectorCli; values: Record<string, unknown>; help: boolean } {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: { ...COLLECTOR_OPTIONS, ...extra }, allowPositionals: true, strict: true });
  } catch (e) {
    throw usageError((e as Error).message.replace(/\s*\n\s*/g, ' '));
  }
  const v = parsed.values as Record<string, unknown>;
  // Positionals only after `--`: the command to launch under tracing.
  if (parsed.positionals.length > 0 && !argv.includes('--')) throw usageError(`unexpected argument ${parsed.positionals[0]} (put a command to trace after --)`);
  const command = parsed.positionals;
  if (v.help) return { cli: undefined as unknown as CollectorCli, values: v, help: true };
  const config = loadConfigFile(v.config as string | undefined);
  const collector = (v.collector as string | undefined) ?? config.collector.kind;
  if (collector !== 'native' && collector !== 'bpftrace') throw usageError(`--collector must be native or bpftrace (got ${collector})`);
  let durationMs: number | undefined;
  if (v.duration !== undefined) {
    const d = Number(v.duration);
    if (!Number.isFinite(d) || d <= 0) throw usageError(`--duration must be a positive number of seconds (got ${String(v.duration)})`);
    durationMs = d * 1000;
  }
  const pids = ((v.pid as string[] | undefined) ?? []).map((p) => {
    if (!/^\d+$/.test(p) || Number(p) <= 0) throw usageError(`--pid must be a positive integer (got ${p})`);
    return Number(p);
  });
  const selection = buildSelection(config.collector.selection, {
    all: !!v.all,
    pids,
    cgroups: (v.cgroup as string[] | undefined) ?? [],
    comms: (v.comm as string[] | undefined) ?? [],
  });
  return {
    cli: {
      config,
      collector,
      replay: v.replay as string | undefined,
      realtime: !!v.realtime,
      out: (v.out as string | undefined) ?? '-',
      durationMs,
      selection,
      command,
    },
    values: v,
    help: false,
  };
}

/**
 * Runs `body` until it ends, the duration elapses, or SIGINT/SIGTERM arrive;
 * `stop` is called once in the latter cases so the source drains cleanly.
 */
export async function runUntilStopped(durationMs: number | undefined, stop: () => Promise<void>, body: Promise<void>): Promise<void> {
  let stopping: Promise<void> | undefined;
  const doStop = () => (stopping ??= stop());
  const timer = durationMs !== undefined ? setTimeout(doStop, durationMs) : undefined;
  const onSig = () => void doStop();
  process.once('SIGINT', onSig);
  process.once('SIGTERM', onSig);
  try {
    await body;
  } finally {
    clearTimeout(timer);
    process.off('SIGINT', onSig);
    process.off('SIGTERM', onSig);
    await stopping;
  }
}
