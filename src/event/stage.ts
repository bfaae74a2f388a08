import { hostname } from 'node:os';
import type { Classifier } from '../classify/classifier.js';
import type { RuleStore } from '../classify/rules.js';
import { createClassifyStage, type ClassifyStage } from '../classify/stage.js';
import type { ClassifyConfig } from '../config/classify.js';
import { ChainWorkloadResolver, HostWorkloadResolver, type WorkloadResolver } from '../correlate/workload-resolver.js';
import { EventBuilder } from './event-builder.js';

/**
 * What `src/pipeline.ts` wires: the event builder (correlate trackers →
 * classify → redact → per-type builders) from the `classify` configuration
 * section and the classify stage (made here when the caller passes none).
 * The pipeline calls `builder.onRaw(ev)` for raw kernel events,
 * `builder.onExchange(x)` for decoded exchanges, subscribes with
 * `builder.onEvent(ce => …)` (→ policy → seal) and calls `close()` at
 * shutdown (flushes held events; stops the rule watcher it made).
 */
export interface EventStage {
  builder: EventBuilder;
  classifier: Classifier;
  rules: RuleStore;
  close(): void;
}

export function createEventStage(cfg: ClassifyConfig, o: { source?: string; resolvers?: WorkloadResolver[]; readProc?: boolean; classify?: ClassifyStage } = {}): EventStage {
  const classify = o.classify ?? createClassifyStage(cfg);
  const builder = new EventBuilder({
    source: o.source ?? `agentrail://${hostname()}/${process.pid}`,
    classifier: classify.classifier,
    resolver: new ChainWorkloadResolver([...(o.resolvers ?? []), new HostWorkloadResolver()]),
    grantedScopes: cfg.grantedScopes,
    holdbackMs: cfg.holdbackMs,
    retryWindowMs: cfg.retryWindowMs,
    toolWindowMs: cfg.toolWindowMs,
    aggregateWindowMs: cfg.aggregateWindowMs,
    ignorePathPrefixes: cfg.ignorePathPrefixes,
    ignorePathGlobs: cfg.ignorePathGlobs,
    readProc: o.readProc ?? true,
  });
  return {
    builder,
    classifier: classify.classifier,
    rules: classify.rules,
    close() {
      builder.close();
      if (!o.classify) classify.close();
    },
  };
}
