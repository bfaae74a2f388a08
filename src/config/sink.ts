import { z } from 'zod';

/** The `sink` section of the configuration. */
export const sinkSchema = z.object({}).strict();
export type SinkConfig = z.infer<typeof sinkSchema>;
