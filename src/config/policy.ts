import { z } from 'zod';

/** Model/API endpoints an agent may send data to without a shadow-AI or exfiltration finding (host or `*.suffix`). */
export const DEFAULT_MODEL_ENDPOINTS: readonly string[] = [
  'api.openai.com',
  'api.anthropic.com',
  '*.openai.azure.com',
  'bedrock-runtime.*.amazonaws.com',
  'generativelanguage.googleapis.com',
  '*-aiplatform.googleapis.com',
  'api.mistral.ai',
];

/**
 * The `policy` section (docs/policy.md): the rule file (the default pack
 * when absent, on in observe mode), its live reload, the allow lists the
 * rules read as `lists.*`, and the bound on sequence-rule state.
 */
export const policySchema = z
  .object({
    enabled: z.boolean().default(true),
    /** YAML rule file; the default pack (policy/default-rules.yaml) when absent. */
    rulesFile: z.string().min(1).optional(),
    watchRules: z.boolean().default(true),
    /** Allow-listed model endpoints (`lists.model_endpoints` in rules). */
    modelEndpoints: z.array(z.string().min(1)).default([...DEFAULT_MODEL_ENDPOINTS]),
    /** Allow-listed non-model API endpoints (`lists.api_endpoints`). */
    apiEndpoints: z.array(z.string().min(1)).default([]),
    /** Open sequence matches kept at once; the oldest is evicted (counted) beyond it. */
    maxSequenceStates: z.number().int().positive().default(10_000),
  })
  .strict();

export type PolicyConfig = z.infer<typeof policySchema>;
