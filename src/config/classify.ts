import { z } from 'zod';

/** The `classify` section of the configuration. */
export const classifySchema = z.object({}).strict();
export type ClassifyConfig = z.infer<typeof classifySchema>;
