import type { ClassifyConfig } from '../config/classify.js';
import { Classifier } from './classifier.js';
import { RuleStore } from './rules.js';
import { warmUpClassifier } from './warm-up.js';

/**
 * The classify stage: the rule store (path and content rules, watched for
 * live reload when configured) and the classifier the event stage asks for
 * sensitivity tags, at access time, against the current rules.
 */
export interface ClassifyStage {
  classifier: Classifier;
  rules: RuleStore;
  close(): void;
}

export function createClassifyStage(cfg: ClassifyConfig): ClassifyStage {
  const rules = new RuleStore(cfg.rulesFile);
  if (cfg.rulesFile && cfg.watchRules) rules.watch();
  const classifier = new Classifier(rules);
  warmUpClassifier(classifier);
  return { classifier, rules, close: () => rules.close() };
}
