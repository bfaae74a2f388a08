import { z } from 'zod';

/** The `observability` section of the configuration. */
export const observabilitySchema = z
  .object({
    /** Serve /healthz, /readyz and /metrics. */
    httpEnabled: z.boolean().default(true),
    /** Bind address of the health/metrics server (0.0.0.0 in a pod so kubelet and Prometheus reach it). */
    httpHost: z.string().default('127.0.0.1'),
    httpPort: z.number().int().min(0).max(65535).default(9469),
    /** pino log level. */
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info'),
  })
  .strict();
export type ObservabilityConfig = z.infer<typeof observabilitySchema>;
