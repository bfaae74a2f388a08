import { z } from 'zod';
import { collectorSchema } from './collector.js';
import { sealSchema } from './seal.js';
import { sinkSchema } from './sink.js';
import { classifySchema } from './classify.js';
import { kubernetesSchema } from './kubernetes.js';
import { observabilitySchema } from './observability.js';
import { protocolSchema } from './protocol.js';
import { policySchema } from './policy.js';
import { pipelineSchema } from './pipeline.js';

/**
 * The one configuration schema (DESIGN.md §8). Each area owns its section in
 * src/config/<area>.ts; every object is strict, so unknown keys are errors.
 * Helm values map one-to-one onto this shape.
 */
export const configSchema = z
  .object({
    collector: collectorSchema.prefault({}),
    seal: sealSchema.prefault({}),
    sink: sinkSchema.prefault({}),
    protocol: protocolSchema.prefault({}),
    classify: classifySchema.prefault({}),
    kubernetes: kubernetesSchema.prefault({}),
    observability: observabilitySchema.prefault({}),
    policy: policySchema.prefault({}),
    pipeline: pipelineSchema.prefault({}),
  })
  .strict();

export type Config = z.infer<typeof configSchema>;
