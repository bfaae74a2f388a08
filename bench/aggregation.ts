/**
 * Fewer events for the same truth (issue 15 item 3): a real test suite run
 * under `agentrail run`, once with aggregation off and once with
 * `classify.aggregateWindowMs`, side by side. Prints events and data.access
 * events per mode, the reduction, and whether the file byte totals agree
 * (aggregation keeps exact sums), then one JSON line.
 *
 * Workload (default): the project's own compiled unit tests of classify, redact, config and event
 * (`node --test`, a real Node test suite: module loads, fixture reads, temp files).
 *
 * Run (root): npm run build:ts && node dist/bench/aggregation.js [--window-ms 2000] [-- CMD ARGS...]
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../src/paths.js';

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : dflt;
}

const windowMs = Number(arg('window-ms', '2000'));
const dd = process.argv.indexOf('--');
const testDirs = ['classify', 'redact', 'config', 'event'].map((d) => join(repoRoot, 'dist', 'test', d));
const workload =
  dd >= 0
    ? process.argv.slice(dd + 1)
    : [process.execPath, '--test', '--test-concurrency=1', ...testDirs.flatMap((d) => readdirSync(d).filter((f) => f.endsWith('.test.js')).map((f) => join(d, f)))];

interface Counts {
  events: number;
  dataAccess: number;
  fileBytesRead: number;
  fileBytesWritten: number;
  aggregated: number;
  wallS: number;
}

function run(aggregateWindowMs: number): Counts {
  const dir = mkdtempSync(join(tmpdir(), 'agentrail-agg-'));
  try {
    const cfg = join(dir, 'config.json');
    writeFileSync(cfg, JSON.stringify({ classify: { aggregateWindowMs }, observability: { httpEnabled: false } }));
    const t0 = process.hrtime.bigint();
    const r = spawnSync(process.execPath, [join(repoRoot, 'bin', 'agentrail.js'), 'run', '--config', cfg, '--log-dir', join(dir, 'log'), '--', ...workload], {
      encoding: 'utf8',
      env: { ...process.env, AGENTRAIL_LOG_LEVEL: 'warn' },
      maxBuffer: 256 << 20,
    });
    const wallS = Number(process.hrtime.bigint() - t0) / 1e9;
    if (r.status !== 0) throw new Error(`agentrail run exited ${r.status}: ${r.stderr.slice(-2000)}`);
    const c: Counts = { events: 0, dataAccess: 0, fileBytesRead: 0, fileBytesWritten: 0, aggregated: 0, wallS };
    const seg = join(dir, 'log', 'segments');
    for (const f of readdirSync(seg).sort()) {
      for (const line of readFileSync(join(seg, f), 'utf8').split('\n')) {
        if (!line.startsWith('{')) continue;
        const e = JSON.parse(line) as { type: string; data?: { resource_type?: string; bytes_read?: number; bytes_written?: number; aggregate?: { count: number } } };
        if (!e.type.startsWith('dev.agentrail.') || e.type.includes('checkpoint') || e.type.includes('log.')) continue;
        c.events++;
        if (e.type !== 'dev.agentrail.data.access') continue;
        c.dataAccess++;
        if (e.data?.resource_type !== 'file') continue;
        c.fileBytesRead += e.data.bytes_read ?? 0;
        c.fileBytesWritten += e.data.bytes_written ?? 0;
        if (e.data.aggregate) c.aggregated += e.data.aggregate.count;
      }
    }
    return c;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const off = run(0);
const on = run(windowMs);
const red = (a: number, b: number) => (a ? (1 - b / a) * 100 : 0);
console.log(`workload: ${workload.length > 6 ? `${workload.slice(0, 4).join(' ')} … (${workload.length - 3} test files)` : workload.join(' ')}`);
console.log('');
console.log('| mode | agent-action events | data.access | file bytes read | file bytes written | accesses merged into aggregates | wall s |');
console.log('|---|---:|---:|---:|---:|---:|---:|');
console.log(`| aggregation off | ${off.events} | ${off.dataAccess} | ${off.fileBytesRead} | ${off.fileBytesWritten} | — | ${off.wallS.toFixed(1)} |`);
console.log(`| aggregateWindowMs ${windowMs} | ${on.events} | ${on.dataAccess} | ${on.fileBytesRead} | ${on.fileBytesWritten} | ${on.aggregated} | ${on.wallS.toFixed(1)} |`);
console.log('');
console.log(`events: ${red(off.events, on.events).toFixed(1)} % fewer; data.access: ${red(off.dataAccess, on.dataAccess).toFixed(1)} % fewer; on/off events ratio ${(on.events / off.events).toFixed(3)}`);
console.log(
  JSON.stringify({
    bench: 'aggregation',
    window_ms: windowMs,
    events_off: off.events,
    events_on: on.events,
    data_access_off: off.dataAccess,
    data_access_on: on.dataAccess,
    events_ratio: Number((on.events / off.events).toFixed(3)),
    file_bytes_read_off: off.fileBytesRead,
    file_bytes_read_on: on.fileBytesRead,
  }),
);
