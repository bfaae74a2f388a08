import { parseArgs } from 'node:util';
import type { Command } from './main.js';
import { AgentrailError } from '../errors.js';
import type { BinaryVerdict, SensorStatus } from '../contracts/coverage.js';

const HELP = `usage: agentrail status [options]
  Asks a running sensor (its observability port) what it sees: the collector and,
  for every binary its traced processes ran, the TLS library found and whether
  its plaintext is captured (attached), not recognised, failed, or has no TLS.
      --url URL       the sensor's observability server (default http://127.0.0.1:9469)
      --json          the /status body as JSON
      --problems      only binaries that are unrecognized or failed (exit 3 if any)`;

/** Exit code when --problems found a binary whose plaintext is not captured. */
const EXIT_PROBLEMS = 3;

export const command: Command = {
  name: 'status',
  summary: "a running sensor's coverage: per-binary TLS library and probe state",
  async run(argv) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { url: { type: 'string' }, json: { type: 'boolean' }, problems: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    });
    if (values.help) {
      process.stdout.write(HELP + '\n');
      return 0;
    }
    if (positionals.length) throw new AgentrailError('USAGE_STATUS', `status takes no positional argument (got ${positionals[0]})`, { hint: 'agentrail status --help' });
    const base = (values.url ?? 'http://127.0.0.1:9469').replace(/\/+$/, '');
    const status = await fetchStatus(base);
    const rows = (status.binaries ?? []).filter((b) => !values.problems || b.state === 'unrecognized' || b.state === 'failed');
    if (values.json) process.stdout.write(JSON.stringify(values.problems ? { ...status, binaries: rows } : status) + '\n');
    else process.stdout.write(render(status, rows));
    return values.problems && rows.length > 0 ? EXIT_PROBLEMS : 0;
  },
};

async function fetchStatus(base: string): Promise<SensorStatus> {
  let res: Response;
  try {
    res = await fetch(`${base}/status`, { signal: AbortSignal.timeout(5000) });
  } catch (e) {
    throw new AgentrailError('STATUS_UNREACHABLE', `no sensor answers at ${base}: ${(e as Error).message}`, { hint: 'start one with `agentrail run`, or pass --url with its observability.httpHost:httpPort' });
  }
  if (!res.ok) throw new AgentrailError('STATUS_HTTP', `${base}/status answered HTTP ${res.status}`, { hint: 'is this an agentrail sensor of this version?' });
  const body = (await res.json().catch(() => undefined)) as SensorStatus | undefined;
  if (!body || typeof body.collector !== 'string') throw new AgentrailError('STATUS_BODY', `${base}/status did not answer a sensor status`);
  return body;
}

function render(s: SensorStatus, rows: BinaryVerdict[]): string {
  const out = [`collector: ${s.collector}`];
  if (s.binaries === null) {
    out.push('per-binary TLS verdicts: not available from this collector (the native collector reports them)');
    return out.join('\n') + '\n';
  }
  const summary = Object.entries(s.summary).map(([k, n]) => `${k} ${n}`).join(', ');
  out.push(`binaries: ${s.binaries.length}${summary ? ` (${summary})` : ''}${s.evicted ? `, ${s.evicted} older verdict(s) evicted` : ''}`);
  const table = [['STATE', 'LIBRARY', 'RUNTIME', 'PROBES', 'BUILD-ID', 'PATH', 'REASON']];
  for (const b of rows) table.push([b.state, b.library, b.runtime, String(b.probes), b.buildId.slice(0, 16) || '-', b.path, b.reason]);
  const width = table[0]!.map((_, i) => (i >= 5 ? 0 : Math.max(...table.map((r) => r[i]!.length))));
  for (const r of table) out.push(r.map((c, i) => (width[i] ? c.padEnd(width[i]!) : c)).join('  ').trimEnd());
  return out.join('\n') + '\n';
}
