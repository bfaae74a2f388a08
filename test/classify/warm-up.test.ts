/**
 * The classify stage compiles its regular expressions at start (src/classify/warm-up.ts), so the
 * first model call an agent makes does not pay for it. The warm-up must leave no trace: no counter
 * moves, and the classifier answers as a cold one would.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { register } from 'prom-client';
import { Classifier } from '../../src/classify/classifier.js';
import { classifyPrompt } from '../../src/classify/prompt-class.js';
import { createClassifyStage } from '../../src/classify/stage.js';
import { parseConfig } from '../../src/config/load.js';

const counters = async () =>
  (await register.getMetricsAsJSON())
    .filter((m) => m.name.startsWith('agentrail_'))
    .map((m) => JSON.stringify([m.name, m.values.filter((v) => v.value !== 0)]))
    .sort();

test('creating the classify stage warms the classifier without counting anything, and answers stay the same', async () => {
  const text = 'card 4111 1111 1111 1111 and x@example.com; patient diagnosis';
  const cold = [...new Classifier().text(text)].sort();
  const coldClass = classifyPrompt({ instruction: 'Summarize this report for me' });
  const before = await counters();
  const stage = createClassifyStage(parseConfig({}).classify);
  try {
    assert.deepEqual(await counters(), before, 'no counter moved');
    assert.deepEqual([...stage.classifier.text(text)].sort(), cold);
    assert.equal(classifyPrompt({ instruction: 'Summarize this report for me' }), coldClass);
    assert.deepEqual(cold, ['PCI:pan', 'PHI:health_term', 'PII:email']);
  } finally {
    stage.close();
  }
});
