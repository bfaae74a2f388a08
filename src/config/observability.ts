import { z } from 'zod';

/** The `observability` section of the configuration. */
export const observabilitySchema = z.object({}).strict();
export type ObservabilityConfig = z.infer<typeof observabilitySchema>;
