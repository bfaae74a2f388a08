/**
 * A replay whose records are all garbage is an error, not an empty log (issue 11): when a capture held
 * records and none of them decoded, the run ends with one line and a non-zero exit instead of exit 0.
 * The decode stage counts every record it could not use by reason (agentrail_stage_errors_total).
 */
import { AgentrailError } from '../errors.js';
import { rawRecords } from '../observability/metrics.js';

/** Records decoded so far in this process (agentrail_raw_records_total, all ops). */
export async function decodedRecords(): Promise<number> {
  let n = 0;
  for (const v of (await rawRecords.get()).values) n += v.value;
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
