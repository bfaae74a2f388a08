import { setTimeout as sleep } from 'node:timers/promises';
import { CaptureReader } from './capture-file.js';
import type { RawSource } from './source.js';

export interface ReplayOptions {
  /** 'full' = as fast as possible (default); 'realtime' = paced by the blocks' ktime. */
  pace?: 'full' | 'realtime';
  /** Realtime speed-up factor (2 = twice as fast). */
  speed?: number;
}

/**
 * Replays a capture file: yields each block's records exactly as they were
 * recorded. Realtime pacing waits until (first_ktime - first_ktime_of_file) /
 * speed has elapsed before each block, so the granularity is one block (one
 * batch of the original source).
 */
export class ReplaySource implements RawSource {
  readonly name = 'replay';
  private stopped = false;
  private readonly ctr = { blocks: 0, records: 0, bytes: 0 };
  private readonly abort = new AbortController();

  constructor(
    readonly path: string,
    private readonly opts: ReplayOptions = {},
  ) {}

  async *batches(): AsyncGenerator<Buffer> {
    const reader = await CaptureReader.open(this.path);
    const speed = this.opts.speed && this.opts.speed > 0 ? this.opts.speed : 1;
    let k0: bigint | undefined;
    const t0 = process.hrtime.bigint();
    try {
      for await (const b of reader.blocks()) {
        if (this.stopped) break;
        if (this.opts.pace === 'realtime' && b.recordCount > 0) {
          k0 ??= b.firstKtimeNs;
          const dueNs = Number(b.firstKtimeNs - k0) / speed;
          const waitMs = (dueNs - Number(process.hrtime.bigint() - t0)) / 1e6;
          if (waitMs > 1) {
            try {
              await sleep(waitMs, undefined, { signal: this.abort.signal });
            } catch {
              break;
            }
          }
        }
        this.ctr.blocks++;
        this.ctr.records += b.recordCount;
        this.ctr.bytes += b.records.length;
        yield b.records;
      }
    } finally {
      await reader.close();
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.abort.abort();
  }

  counters(): Record<string, number> {
    return { ...this.ctr };
  }
}
