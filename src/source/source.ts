import type { BinaryVerdict } from '../contracts/coverage.js';

/**
 * What every source (native, bpftrace, replay) yields: batches of raw record
 * bytes in the kernel ABI (bpf/include/agentrail_abi.h), back to back, each
 * record hdr.size long. Decoding is shared (src/decode/decode-batch.ts).
 */
export interface RawSource {
  readonly name: string;
  /** Batches until the source ends or stop() is called. Iterate once. */
  batches(): AsyncIterable<Buffer>;
  /** Stop producing; pending batches may still be delivered, then iteration ends. */
  stop(): Promise<void>;
  /** Source-specific counters (records, lost, drops…), numbers only. */
  counters(): Record<string, number>;
  /** Per-binary TLS verdicts, when the collector can tell (the native one). */
  coverage?(): BinaryVerdict[];
}

/** Which processes a live source traces (CLI --pid/--cgroup/--comm/--all). */
export interface Selection {
  all: boolean;
  pids: number[];
  /** cgroup v2 ids (a PATH given on the CLI is resolved to its inode = id). */
  cgroupIds: bigint[];
  /** Executable comm names; matched on exec in user space, then the pid is added. */
  comms: string[];
}

export const emptySelection = (): Selection => ({ all: false, pids: [], cgroupIds: [], comms: [] });
