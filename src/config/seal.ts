import { z } from 'zod';

/** The `seal` section of the configuration. */
export const sealSchema = z.object({}).strict();
export type SealConfig = z.infer<typeof sealSchema>;
