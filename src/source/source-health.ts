import { childLogger } from '../observability/logger.js';
import { ringBufferFill, tlsBinaries } from '../observability/metrics.js';
import type { BinaryVerdict, SensorStatus } from '../contracts/coverage.js';
import type { RawSource } from './source.js';

const log = childLogger('pipeline');

/**
 * What the source's counters say about the sensor's sight, checked on the
 * pipeline's ticker: ring buffer fill (a metric), the per-binary TLS verdicts
 * (a gauge, and one warning per binary whose TLS library is not recognised or
 * could not be probed: never a silent blind spot), and a poll thread that gave
 * up (`blind`: the sensor cannot see the kernel any more; the caller stops
 * with an error).
 */
export class SourceHealth {
  private seenUnrecognized = 0;
  private readonly warned = new Set<string>();
  /** The native table's version last reported: verdicts are copied into JS only when it moved. */
  private coverageVersion = -1;
  /** Set once the kernel source failed for good: the readiness reason. */
  blind: string | undefined;

  constructor(
    private readonly source: RawSource,
    private readonly onBlind: () => void,
  ) {}

  check(): void {
    const c = this.source.counters();
    if (c.ringFillPeak !== undefined) ringBufferFill.set({ ring: 'events' }, c.ringFillPeak);
    this.reportCoverage(c);
    if (c.pollFatalErrno && !this.blind) {
      this.blind = `ring buffer poll failed (errno ${c.pollFatalErrno}) after ${c.pollErrors} attempts`;
      log.error({ errno: c.pollFatalErrno, attempts: c.pollErrors }, 'ring buffer poll failed: the sensor cannot see the kernel any more; stopping');
      this.onBlind();
    }
  }

  reportCoverage(c: Record<string, number> = this.source.counters()): void {
    if (this.source.coverage) {
      const version = c['observer.tls_coverage_version'] ?? 0;
      if (version !== this.coverageVersion) {
        this.coverageVersion = version;
        this.reportVerdicts(this.source.coverage());
      }
      return;
    }
    const unrecognized = c['observer.tls_stripped_unrecognized'] ?? 0;
    if (unrecognized <= this.seenUnrecognized) return;
    log.warn({ executables: unrecognized - this.seenUnrecognized, total: unrecognized }, 'traced executable(s) with a TLS library agentrail does not recognise: their connections are in the trail by the egress floor only (network.plaintext: none)');
    this.seenUnrecognized = unrecognized;
  }

  /** GET /status: the collector and its verdict on every binary it inspected. */
  status(): SensorStatus {
    const binaries = this.source.coverage?.() ?? null;
    return {
      collector: this.source.name,
      binaries,
      evicted: this.source.counters()['observer.tls_coverage_evicted'] ?? 0,
      summary: binaries ? summarize(binaries) : {},
    };
  }

  private reportVerdicts(binaries: BinaryVerdict[]): void {
    tlsBinaries.reset();
    for (const [k, n] of Object.entries(summarize(binaries))) {
      const [library, state] = k.split('/') as [string, string];
      tlsBinaries.set({ library, state }, n);
    }
    for (const b of binaries) {
      if (b.state !== 'unrecognized' && b.state !== 'failed') continue;
      // Once per build: a binary copied or updated in place is one warning, not one per process.
      const key = b.buildId || `${b.dev}:${b.ino}`;
      if (this.warned.has(key)) continue;
      this.warned.add(key);
      log.warn(
        { path: b.path, buildId: b.buildId, runtime: b.runtime, library: b.library, state: b.state, reason: b.reason },
        b.state === 'unrecognized'
          ? 'TLS library not recognised: no plaintext for this binary; its connections are in the trail by the egress floor only (network.plaintext: none)'
          : 'TLS probes failed to attach: no plaintext for this binary; its connections are in the trail by the egress floor only (network.plaintext: none)',
      );
    }
  }
}

/** Binaries per "library/state". */
export function summarize(binaries: BinaryVerdict[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const b of binaries) out[`${b.library}/${b.state}`] = (out[`${b.library}/${b.state}`] ?? 0) + 1;
  return out;
}

/** Records in a raw batch (each starts with a header whose u32 at offset 4 is its size). */
export function countRecords(batch: Buffer): number {
  let n = 0;
  for (let o = 0; o + 8 <= batch.length; n++) {
    const size = batch.readUInt32LE(o + 4);
    if (size < 8) break;
    o += size;
  }
  return n;
}
