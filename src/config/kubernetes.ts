import { z } from 'zod';

/** The `kubernetes` section of the configuration. */
export const kubernetesSchema = z.object({}).strict();
export type KubernetesConfig = z.infer<typeof kubernetesSchema>;
