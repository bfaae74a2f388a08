/**
 * Stripped-binary TLS discovery (native/src/boringssl_locator.cc): time to
 * locate SSL_write/SSL_read in a binary never seen (empty build-id cache)
 * versus the cached lookup of the same build-id (re-validation included),
 * measured side by side in one run, median of ROUNDS each.
 *   npm run build && AGENTRAIL_BUN=/path/to/bun node dist/bench/tls-discovery.js [binary] [rounds=5]
 * Prints a table and ends with one JSON line. Asserts nothing.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadAddon } from '../src/native/addon.js';

const bin = process.argv[2] ?? process.env.AGENTRAIL_BUN;
const ROUNDS = Number(process.argv[3] ?? 5);
if (!bin) {
  console.error('usage: node dist/bench/tls-discovery.js <bun or bun-compiled binary> [rounds]');
  process.exit(2);
}
const { locateTls } = loadAddon();
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const cold: number[] = [];
const warm: number[] = [];
let last;
for (let i = 0; i < ROUNDS; i++) {
  const dir = mkdtempSync(join(tmpdir(), 'ar-tls-cache-'));
  process.env.AGENTRAIL_TLS_CACHE_DIR = dir;
  const c = locateTls(bin);
  const w = locateTls(bin);
  rmSync(dir, { recursive: true, force: true });
  if (!c.found || c.cacheHit || !w.cacheHit) throw new Error(`unexpected: cold ${JSON.stringify(c)} warm ${JSON.stringify(w)}`);
  cold.push(c.ms);
  warm.push(w.ms);
  last = c;
}
const mb = statSync(bin).size / 2 ** 20;
const fig = {
  binary: bin,
  size_mb: Number(mb.toFixed(1)),
  build_id: last!.buildId,
  discovery_ms_median: Number(median(cold).toFixed(1)),
  cached_ms_median: Number(median(warm).toFixed(2)),
  cold_over_cached: Number((median(cold) / median(warm)).toFixed(1)),
  rounds: ROUNDS,
};
console.log(`discovery (new build-id): ${fig.discovery_ms_median} ms for ${fig.size_mb} MB; cached: ${fig.cached_ms_median} ms; ratio ${fig.cold_over_cached}x`);
console.log(JSON.stringify(fig));
