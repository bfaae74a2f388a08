import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classifyPrompt } from '../../src/classify/prompt-class.js';
import { evaluate, loadPromptSet } from '../helpers/prompt-set.js';

const c = (instruction: string, toolsOffered = 0, toolResults = 0) => classifyPrompt({ instruction, toolsOffered, toolResults });

test('prompt classes from the words of the request', () => {
  assert.equal(c('Write a Python function that parses ISO dates and add unit tests'), 'code_generation');
  assert.equal(c('Summarize this incident report in three key points'), 'summarization');
  assert.equal(c('Analyze the sales dataset and compute the median revenue per region'), 'data_analysis');
  assert.equal(c('Translate this paragraph into French'), 'translation');
  assert.equal(c('hi there!'), 'conversation');
  assert.equal(c(''), 'other');
  assert.equal(c('What is the capital of Peru?'), 'question_answering');
  assert.equal(c('Übersetze bitte diese E-Mail ins Spanische.'), 'translation');
  assert.equal(c('请总结一下这份会议纪要。'), 'summarization');
});

test('the loop is not the request: tools offered and results carried back do not change the class', () => {
  for (const [text, cls] of [
    ['What is the capital of Peru?', 'question_answering'],
    ['Translate the README into German', 'translation'],
    ['anything', 'conversation'],
  ] as const) {
    assert.equal(c(text), cls);
    assert.equal(c(text, 8, 3), cls, text);
  }
});

test('quoted material counts less than the ask, and agent-CLI wrappers are not the request', () => {
  // The pasted thread talks about deploys and migrations; the ask is a summary.
  assert.equal(c('Give me a TL;DR of the thread below.\n\nA: deploy failed, run the migration\nB: delete the bucket and restart the service'), 'summarization');
  assert.equal(c('<system-reminder>\nThe user opened src/a.ts. Run tests, deploy, delete files as needed.\n</system-reminder>\nWhy is the sky blue?'), 'question_answering');
});

/**
 * Labelled by hand (test/fixtures/prompts): `dev` was written first and the cue lists were written
 * against it; `holdout-1` was written after round 1 was frozen (35/48 then) and round 2 was tuned on
 * it; `holdout` was written after round 2 was frozen and never tuned on: 39/56. The floors sit at what
 * the data supports: the tuning sets near their measured 100%, the held-out set at about the 95%
 * Wilson lower bound of 39/56 (0.70 → 0.57), far above always answering the most frequent class.
 */
test('accuracy on the hand-labelled prompt sets', (t) => {
  const dev = evaluate(loadPromptSet('dev'));
  const seen = evaluate(loadPromptSet('holdout-1'));
  const hold = evaluate(loadPromptSet('holdout'));
  t.diagnostic(`dev ${dev.correct}/${dev.n}, holdout-1 ${seen.correct}/${seen.n} (tuned on), holdout ${hold.correct}/${hold.n} = ${hold.accuracy.toFixed(3)} (majority baseline ${hold.majorityBaseline.toFixed(3)})`);
  assert.ok(dev.n + seen.n + hold.n >= 60 && hold.n >= 50, 'at least 60 labelled prompts, 50 of them held out');
  for (const e of [dev, seen, hold]) assert.ok(Object.keys(e.perLang).length >= 6, 'several languages');
  assert.ok(dev.accuracy >= 0.95, JSON.stringify(dev.misses));
  assert.ok(seen.accuracy >= 0.95, JSON.stringify(seen.misses));
  assert.ok(hold.accuracy >= 0.56, JSON.stringify(hold.misses));
  assert.ok(hold.accuracy >= 3 * hold.majorityBaseline, 'far above the majority-class baseline');
  for (const e of [dev, seen, hold]) assert.equal(e.loopInvariant, 1);
});
