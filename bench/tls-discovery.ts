/**
 * TLS discovery in binaries without TLS symbols: time to locate the hooks in
 * a binary never seen (empty build-id cache) versus the cached lookup of the
 * same build-id (re-validation included), measured side by side in one run,
 * median of ROUNDS each.
 *  - stripped BoringSSL (native/src/boringssl_locator.cc): SSL_write/SSL_read in Bun or a
 *    `bun build --compile` executable;
 *  - Go crypto/tls (native/src/go_locator.cc): (*Conn).Write/Read and every RET of Read
 *    from .gopclntab, in a Go executable (`--go PATH`, e.g. the test client built with -s -w);
 *  - stripped aws-lc (native/src/aead_locator.cc): EVP_AEAD_CTX_seal/open in a rustls + aws-lc-rs
 *    binary (`--aead PATH`, e.g. Codex's native executable).
 *   npm run build && AGENTRAIL_BUN=/path/to/bun node dist/bench/tls-discovery.js [binary] [rounds=5] [--go PATH] [--aead PATH]
 * Prints a table and ends with one JSON line. Asserts nothing.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadAddon } from '../src/native/addon.js';

const args = process.argv.slice(2);
const goAt = args.indexOf('--go');
const goBin = goAt >= 0 ? args.splice(goAt, 2)[1] : undefined;
const aeadAt = args.indexOf('--aead');
const aeadBin = aeadAt >= 0 ? args.splice(aeadAt, 2)[1] : undefined;
// A lone number is the round count (`--go PATH 9`).
if (args.length === 1 && /^\d+$/.test(args[0]!)) args.unshift('');
const bin = args[0] || process.env.AGENTRAIL_BUN;
const ROUNDS = Number(args[1] ?? 5);
if (!bin && !goBin && !aeadBin) {
  console.error('usage: node dist/bench/tls-discovery.js [<bun or bun-compiled binary>] [rounds] [--go <go binary>] [--aead <rustls/aws-lc binary>]');
  process.exit(2);
}
const { locateTls, locateGoTls, locateAead } = loadAddon();
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

type Located = { found: boolean; cacheHit: boolean; ms: number; buildId: string };
/** Cold (fresh cache directory) then warm lookup of the same file, ROUNDS times. */
function measure<T extends Located>(path: string, locate: (p: string) => T) {
  const cold: number[] = [];
  const warm: number[] = [];
  let last: T | undefined;
  for (let i = 0; i < ROUNDS; i++) {
    const dir = mkdtempSync(join(tmpdir(), 'ar-tls-cache-'));
    process.env.AGENTRAIL_TLS_CACHE_DIR = dir;
    const c = locate(path);
    const w = locate(path);
    rmSync(dir, { recursive: true, force: true });
    if (!c.found || c.cacheHit || !w.cacheHit) throw new Error(`unexpected: cold ${JSON.stringify(c)} warm ${JSON.stringify(w)}`);
    cold.push(c.ms);
    warm.push(w.ms);
    last = c;
  }
  return {
    binary: path,
    size_mb: Number((statSync(path).size / 2 ** 20).toFixed(1)),
    build_id: last!.buildId,
    discovery_ms_median: Number(median(cold).toFixed(2)),
    cached_ms_median: Number(median(warm).toFixed(2)),
    cold_over_cached: Number((median(cold) / median(warm)).toFixed(1)),
    last: last!,
  };
}

const fig: Record<string, unknown> = { rounds: ROUNDS };
if (bin) {
  const { last: _l, ...b } = measure(bin, locateTls);
  Object.assign(fig, b);
  console.log(`BoringSSL discovery (new build-id): ${b.discovery_ms_median} ms for ${b.size_mb} MB; cached: ${b.cached_ms_median} ms; ratio ${b.cold_over_cached}x`);
}
if (goBin) {
  const { last, ...g } = measure(goBin, locateGoTls);
  fig.go = { ...g, go_version: last.goVersion, read_rets: last.readRets.length };
  console.log(`Go crypto/tls discovery (new build-id): ${g.discovery_ms_median} ms for ${g.size_mb} MB (${last.goVersion}, ${last.readRets.length} RETs in Read); cached: ${g.cached_ms_median} ms; ratio ${g.cold_over_cached}x`);
}
if (aeadBin) {
  const { last: _l, ...a } = measure(aeadBin, locateAead);
  fig.aead = a;
  console.log(`aws-lc AEAD discovery (new build): ${a.discovery_ms_median} ms for ${a.size_mb} MB; cached: ${a.cached_ms_median} ms; ratio ${a.cold_over_cached}x`);
}
console.log(JSON.stringify(fig));
