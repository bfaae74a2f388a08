import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * One registry for the process. Label values are fixed vocabularies (stage,
 * reason, type): never captured content, so no plaintext can reach a label.
 */
export const registry = new Registry();
collectDefaultMetrics({ register: registry, prefix: 'agentrail_process_' });

export const drops = new Counter({
  name: 'agentrail_dropped_total',
  help: 'Records or events dropped or truncated, by stage and reason',
  labelNames: ['stage', 'reason'] as const,
  registers: [registry],
});

export const stageErrors = new Counter({
  name: 'agentrail_stage_errors_total',
  help: 'Bad input turned into counted internal events, by stage and reason',
  labelNames: ['stage', 'reason'] as const,
  registers: [registry],
});

export const eventsEmitted = new Counter({
  name: 'agentrail_events_total',
  help: 'Agent-action and lifecycle events sealed, by type',
  labelNames: ['type'] as const,
  registers: [registry],
});

export const rawRecords = new Counter({
  name: 'agentrail_raw_records_total',
  help: 'Raw kernel records received, by op name',
  labelNames: ['op'] as const,
  registers: [registry],
});

export { Counter, Gauge, Histogram };

/** Count a drop and return nothing: callers never drop without calling this. */
export function countDrop(stage: string, reason: string, n = 1): void {
  drops.inc({ stage, reason }, n);
}

export function countStageError(stage: string, reason: string, n = 1): void {
  stageErrors.inc({ stage, reason }, n);
}
