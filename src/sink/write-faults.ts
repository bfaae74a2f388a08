import { childLogger } from '../observability/logger.js';
import type { OpenSink } from './index.js';

const log = childLogger('pipeline');

/**
 * A failing disk (ENOSPC, EIO): warn at every occurrence, shed raw records at
 * the source while it lasts, and once writes work again record what was shed
 * as a signed gap (`recordGap`). `failed` says a fault happened during the
 * run, for its exit code.
 */
export interface WriteFaults {
  /** Raw records shed at the source while writes were failing. */
  shed(records: number): void;
  readonly failed: boolean;
}

export function watchWriteFaults(sink: OpenSink, logDir: string, recordGap: (lostEvents: number, detail: string) => void): WriteFaults {
  let stallCode = '';
  let shedWhileStalled = 0;
  let failed = false;
  sink.log.on('write-error', (code: string) => {
    stallCode = code;
    failed = true;
    log.warn({ code, logDir }, 'local log write failed: holding sealed events in memory and shedding raw events at the source until the disk accepts writes again');
  });
  sink.log.on('write-recovered', () => {
    log.warn({ code: stallCode, shedRecords: shedWhileStalled }, 'local log writes work again; the records shed meanwhile are recorded as a signed gap');
    recordGap(shedWhileStalled, stallCode || 'error');
    shedWhileStalled = 0;
  });
  sink.log.on('unwritten', (n: number) => {
    failed = true;
    log.error({ events: n, code: stallCode }, 'local log still failing at stop: these sealed events could not be written; the next start records an unclean stop');
  });
  return {
    shed(records) {
      shedWhileStalled += records;
    },
    get failed() {
      return failed;
    },
  };
}
