import { z } from 'zod';

/**
 * The `collector` section: which kernel collector runs, how much payload it
 * captures, and which processes it traces. See docs/collectors.md.
 * CLI flags (--collector, --pid, --cgroup, --comm, --all) override these.
 */
export const selectionSchema = z
  .object({
    /** Trace every process on the host (--all). */
    all: z.boolean().default(false),
    /** Process ids to trace; their children are traced too. */
    pids: z.array(z.number().int().positive()).default([]),
    /** cgroup v2 paths (under /sys/fs/cgroup) or numeric cgroup ids. */
    cgroups: z.array(z.union([z.string().min(1), z.number().int().positive()])).default([]),
    /** Executable names (comm, at most 15 bytes) whose exec starts tracing that process. */
    comms: z.array(z.string().min(1).max(15)).default([]),
  })
  .strict();

export const collectorSchema = z
  .object({
    /** 'native' = libbpf addon (default); 'bpftrace' = bpf/*.bt scripts (fallback, second opinion). */
    kind: z.enum(['native', 'bpftrace']).default('native'),
    /** Bytes of TLS plaintext captured per SSL call (kernel side). Whole model
     * calls: real agents send 40-50 KB per request, large contexts megabytes.
     * Above it a call keeps its true length and is flagged truncated. */
    tlsCap: z.number().int().min(0).max(16 * 1024 * 1024).default(2 * 1024 * 1024),
    /** Bytes captured per pipe write. */
    pipeCap: z.number().int().min(0).max(1024 * 1024).default(4096),
    /** Period of the per-fd counter flush for long-lived fds. */
    flushIntervalMs: z.number().int().min(10).max(3_600_000).default(1000),
    /** Ring buffer size in bytes (a power of two, at least one page). */
    ringBytes: z
      .number()
      .int()
      .min(4096)
      .max(1 << 30)
      .refine((n) => (n & (n - 1)) === 0, 'must be a power of two')
      .default(16 * 1024 * 1024),
    /**
     * Nice value of every thread of `agentrail run` (the poll thread started later inherits it). A
     * positive value lets traced agents go first under CPU contention while the sensor catches up from
     * its ring (overflow is counted, never silent). Default 0: bench/agent-session did not show a
     * difference beyond its noise here (docs/performance.md).
     */
    nice: z.number().int().min(-20).max(19).default(0),
    /** Path of the bpftrace binary (kind: bpftrace). */
    bpftracePath: z.string().min(1).default('bpftrace'),
    selection: selectionSchema.prefault({}),
  })
  .strict()
  // One captured call must fit the ring buffer with room for everything else.
  .refine((c) => c.tlsCap <= c.ringBytes / 2, { path: ['tlsCap'], message: 'must be at most half of collector.ringBytes' });
export type CollectorConfig = z.infer<typeof collectorSchema>;
export type SelectionConfig = z.infer<typeof selectionSchema>;
