import { hostname } from 'node:os';
import { Classifier } from '../classify/classifier.js';
import { RuleStore } from '../classify/rules.js';
import type { ClassifyConfig } from '../config/classify.js';
import { ChainWorkloadResolver, HostWorkloadResolver, type WorkloadResolver } from '../correlate/workload-resolver.js';
import { EventBuilder } from './event-builder.js';

/**
 * What `src/pipeline.ts` wires: one call builds the rule store (watched for
 * live reload), the classifier and the event builder from the `classify`
 * configuration section. The pipeline then calls `builder.onRaw(ev)` for raw
 * kernel events, `builder.onExchange(x)` for decoded exchanges, subscribes with
 * `builder.onEvent(ce => …)` (→ seal) and calls `close()` at shutdown (flushes
 * held events, stops the watcher).
 */
export interface EventStage {
  builder: EventBuilder;
  classifier: Classifier;
  rules: RuleStore;
  close(): void;
}

export function createEventStage(cfg: ClassifyConfig, o: { source?: string; resolvers?: WorkloadResolver[]; readProc?: boolean } = {}): EventStage {
  const rules = new RuleStore(cfg.rulesFile);
  if (cfg.rulesFile && cfg.watchRules) rules.watch();
  const classifier = new Classifier(rules);
  const builder = new EventBuilder({
    source: o.source ?? `agentrail://${hostname()}/${process.pid}`,
    classifier,
    resolver: new ChainWorkloadResolver([...(o.resolvers ?? []), new HostWorkloadResolver()]),
    grantedScopes: cfg.grantedScopes,
    holdbackMs: cfg.holdbackMs,
    retryWindowMs: cfg.retryWindowMs,
    toolWindowMs: cfg.toolWindowMs,
    ignorePathPrefixes: cfg.ignorePathPrefixes,
    ignorePathGlobs: cfg.ignorePathGlobs,
    readProc: o.readProc ?? true,
  });
  return {
    builder,
    classifier,
    rules,
    close() {
      builder.close();
      rules.close();
    },
  };
}
