import { Counter, Gauge, registry } from '../observability/metrics.js';

/** Policy decisions written to the trail, by decision and who decided (agentrail or provider). */
export const policyDecisions = new Counter({
  name: 'agentrail_policy_decisions_total',
  help: 'policy.decision events emitted, by decision and source kind',
  labelNames: ['decision', 'source'] as const,
  registers: [registry],
});

export const policyRulesLoaded = new Gauge({
  name: 'agentrail_policy_rules',
  help: 'Policy rules currently loaded',
  registers: [registry],
});

/** Tasks the kernel killed for a denied action (bpf/enforce.bpf.c), by what was denied and whether the signal was sent. */
export const policyKernelKills = new Counter({
  name: 'agentrail_policy_kernel_kills_total',
  help: 'Enforcement records from the kernel, by action (connect, exec, open) and result (killed, signal_failed)',
  labelNames: ['what', 'result'] as const,
  registers: [registry],
});
