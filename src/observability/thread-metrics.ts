/**
 * Metrics of worker threads (shard workers, the Kafka shipper thread) merged with this thread's for
 * /metrics and the stop summary. Each thread has its own prom-client registry; a worker sends its
 * registry as JSON, without the process-wide metrics (CPU, RSS, event loop), which are the main thread's.
 */
import { AggregatorRegistry, type MetricObjectWithValues, type MetricValue, type Registry } from 'prom-client';
import { registry } from './metrics.js';

export type MetricsJson = MetricObjectWithValues<MetricValue<string>>[];

/** This (worker) thread's own metrics, to be posted to the main thread. */
export async function ownThreadMetrics(): Promise<MetricsJson> {
  return (await registry.getMetricsAsJSON()).filter((m) => !m.name.startsWith('agentrail_process_')) as MetricsJson;
}

/**
 * This thread's registry merged with the workers' last metrics: counters and histograms summed; a
 * gauge this thread sets (checkpoint age, ring fill, rules loaded) is this thread's, one only workers
 * set (stream buffers) is the sum over them.
 */
export async function mergeWithThisThread(workers: readonly MetricsJson[]): Promise<Registry> {
  const main = (await registry.getMetricsAsJSON()).map((m) => (String(m.type) === 'gauge' && m.values.length > 0 ? { ...m, aggregator: 'first' as const } : m));
  // prom-client takes the aggregator of the first registry listed: this thread's.
  return AggregatorRegistry.aggregate([main, ...workers] as Parameters<typeof AggregatorRegistry.aggregate>[0]);
}
