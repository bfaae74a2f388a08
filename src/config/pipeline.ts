import { z } from 'zod';

/**
 * The `pipeline` section: how many threads analyse records (docs/performance.md "Sharded by session").
 * 1 = every stage on the main thread (the default); N ≥ 2 = the records are split by session over N
 * worker threads running decode → … → policy, and the main thread routes, seals and ships.
 */
export const pipelineSchema = z
  .object({
    workers: z.number().int().min(1).max(64).default(1),
  })
  .strict();

export type PipelineConfig = z.infer<typeof pipelineSchema>;
