import { AR_ABI_VERSION, OP_NAMES } from '../native/abi.js';
import { countStageError, rawRecords } from '../observability/metrics.js';
import { HDR_SIZE } from '../native/records/fields.js';
import { isFailure } from '../native/records/types.js';
import type { RawEvent } from '../contracts/raw-event.js';
import { BY_OP } from '../native/records/registry.js';

export interface DecodeStats {
  records: number;
  errors: Record<string, number>;
}

/**
 * Walk a batch of hdr.size-delimited records and decode each one. Never throws
 * and always terminates: a header that cannot be trusted (size 0, smaller than
 * a header, past the end of the batch) ends the walk, since nothing after it
 * can be framed; a well-framed but unusable record (unknown op or version, too
 * short, bad payload length) is skipped by its size. Each case is counted as
 * a decode-stage error `{stage: 'decode', reason}`.
 */
export function decodeBatch(buf: Buffer, stats?: DecodeStats): RawEvent[] {
  const out: RawEvent[] = [];
  const errors: Record<string, number> = {};
  const perOp: number[] = [];
  const bad = (reason: string) => {
    errors[reason] = (errors[reason] ?? 0) + 1;
  };
  const end = buf.length;
  let o = 0;
  while (o < end) {
    if (end - o < HDR_SIZE) {
      bad('truncated_header');
      break;
    }
    const size = buf.readUInt32LE(o + 4);
    if (size === 0) {
      bad('size_zero');
      break;
    }
    if (size < HDR_SIZE) {
      bad('size_too_small');
      break;
    }
    if (size > end - o) {
      bad('size_past_end');
      break;
    }
    const op = buf.readUInt16LE(o);
    const version = buf.readUInt16LE(o + 2);
    const codec = BY_OP[op];
    if (version !== AR_ABI_VERSION) bad('unknown_version');
    else if (!codec) bad('unknown_op');
    else if (size < codec.minSize) bad('short_record');
    else {
      let ev: RawEvent | { fail: string };
      try {
        ev = codec.decode(buf, o, size);
      } catch {
        ev = { fail: 'decoder_exception' };
      }
      if (isFailure(ev)) bad(ev.fail);
      else {
        out.push(ev);
        perOp[op] = (perOp[op] ?? 0) + 1;
      }
    }
    o += size;
  }
  // Metrics once per batch, not per record: the hot loop stays allocation-light.
  for (let op = 0; op < perOp.length; op++) {
    const n = perOp[op];
    if (n) rawRecords.inc({ op: OP_NAMES[op] ?? String(op) }, n);
  }
  for (const [reason, n] of Object.entries(errors)) {
    countStageError('decode', reason, n);
  }
  if (stats) {
    stats.records += out.length;
    for (const [reason, n] of Object.entries(errors)) stats.errors[reason] = (stats.errors[reason] ?? 0) + n;
  }
  return out;
}
