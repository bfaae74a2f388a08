import { z } from 'zod';

/** The `collector` section of the configuration. */
export const collectorSchema = z.object({}).strict();
export type CollectorConfig = z.infer<typeof collectorSchema>;
