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

// --- Health/metrics surface (issue 6). The owners of these numbers set them;
// the names are documented in docs/kubernetes.md.

export const tlsBinaries = new Gauge({
  name: 'agentrail_tls_binaries',
  help: 'Binaries inspected by the TLS attacher, by TLS library and probe state (attached, unrecognized, failed, no-tls)',
  labelNames: ['library', 'state'] as const,
  registers: [registry],
});

export const ringBufferFill = new Gauge({
  name: 'agentrail_ringbuf_fill_ratio',
  help: 'Fill of a kernel ring buffer (0..1) at the last poll, by ring',
  labelNames: ['ring'] as const,
  registers: [registry],
});

export const localLogBytes = new Gauge({
  name: 'agentrail_local_log_bytes',
  help: 'Bytes of sealed events held in the local log segments',
  registers: [registry],
});

export const localLogUnshippedBytes = new Gauge({
  name: 'agentrail_local_log_unshipped_bytes',
  help: 'Bytes of the local log not yet acknowledged by Kafka',
  registers: [registry],
});

export const kafkaPublishLatency = new Histogram({
  name: 'agentrail_kafka_publish_latency_seconds',
  help: 'Time from handing a batch to kafkajs to its acknowledgement',
  buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  registers: [registry],
});

let lastCheckpointMs: number | undefined;

/** Record that a checkpoint was signed and written (the seal stage calls this). */
export function markCheckpoint(atMs = Date.now()): void {
  lastCheckpointMs = atMs;
  lastCheckpointTimestamp.set(atMs / 1000);
}

export const lastCheckpointTimestamp = new Gauge({
  name: 'agentrail_last_checkpoint_timestamp_seconds',
  help: 'Unix time of the last signed checkpoint',
  registers: [registry],
});

export const lastCheckpointAge = new Gauge({
  name: 'agentrail_last_checkpoint_age_seconds',
  help: 'Seconds since the last signed checkpoint (-1 before the first)',
  registers: [registry],
  collect() {
    this.set(lastCheckpointMs === undefined ? -1 : (Date.now() - lastCheckpointMs) / 1000);
  },
});
