import { childLogger } from '../observability/logger.js';
import { ringBufferFill } from '../observability/metrics.js';
import type { RawSource } from './source.js';

const log = childLogger('pipeline');

/**
 * What the source's counters say about the sensor's sight, checked on the
 * pipeline's ticker: ring buffer fill (a metric), executables with a TLS
 * library agentrail does not recognise (one warning each time more appear:
 * never a silent blind spot), and a poll thread that gave up (`blind`: the
 * sensor cannot see the kernel any more; the caller stops with an error).
 */
export class SourceHealth {
  private seenUnrecognized = 0;
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
    const unrecognized = c['observer.tls_stripped_unrecognized'] ?? 0;
    if (unrecognized <= this.seenUnrecognized) return;
    log.warn({ executables: unrecognized - this.seenUnrecognized, total: unrecognized }, 'traced executable(s) with a TLS library agentrail does not recognise: their connections are in the trail by the egress floor only (network.plaintext: none)');
    this.seenUnrecognized = unrecognized;
  }
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
