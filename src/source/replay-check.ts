/**
 * A replay whose records are all garbage is an error, not an empty log (issue 11): when a capture held
 * records and none of them decoded, the run ends with one line and a non-zero exit instead of exit 0.
 * The decode stage counts every record it could not use by reason (agentrail_stage_errors_total).
 */
import { AgentrailError } from '../errors.js';
import type { Registry } from 'prom-client';
import { rawRecords } from '../observability/metrics.js';

/** Records decoded so far in this process (agentrail_raw_records_total, all ops), or in a merged registry (shard workers). */
export async function decodedRecords(merged?: Pick<Registry, 'getSingleMetric'>): Promise<number> {
  let n = 0;
  const values = merged ? ((await merged.getSingleMetric('agentrail_raw_records_total')?.get())?.values ?? []) : (await rawRecords.get()).values;
  for (const v of values) n += v.value;
  return n;
}

/** Throws REPLAY_NO_VALID_RECORDS when the replay read record bytes and none of them decoded. */
export function checkReplayInput(path: string, counters: Record<string, number>, decoded: number): void {
  const bytes = counters.bytes ?? 0;
  if (bytes > 0 && decoded === 0) {
    throw new AgentrailError('REPLAY_NO_VALID_RECORDS', `replay ${path}: none of its ${counters.records ?? 0} framed record(s) (${bytes} bytes) could be decoded (counted in agentrail_stage_errors_total{stage="decode"})`, {
      hint: 'the capture is corrupt or from another ABI version: re-record it with `agentrail record`',
    });
  }
}
