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
 * against it; `holdout` was written after the rules were frozen and never tuned on. The floors sit at
 * what the data supports: dev near its measured 78/78, holdout at about the 95% Wilson lower bound of
 * its measured 35/48 (0.73 → 0.59), both well above always answering the most frequent class.
 */
test('accuracy on the hand-labelled prompt sets', (t) => {
  const dev = evaluate(loadPromptSet('dev'));
  const hold = evaluate(loadPromptSet('holdout'));
  t.diagnostic(`dev ${dev.correct}/${dev.n} = ${dev.accuracy.toFixed(3)}, holdout ${hold.correct}/${hold.n} = ${hold.accuracy.toFixed(3)} (majority baselines ${dev.majorityBaseline.toFixed(3)}, ${hold.majorityBaseline.toFixed(3)})`);
  assert.ok(dev.n + hold.n >= 60 && dev.n >= 60, 'at least 60 labelled prompts');
  assert.ok(Object.keys(dev.perLang).length >= 6 && Object.keys(hold.perLang).length >= 6, 'several languages');
  assert.ok(dev.accuracy >= 0.95, JSON.stringify(dev.misses));
  assert.ok(hold.accuracy >= 0.59, JSON.stringify(hold.misses));
  assert.ok(hold.accuracy >= 3 * hold.majorityBaseline, 'far above the majority-class baseline');
  assert.equal(dev.loopInvariant, 1);
  assert.equal(hold.loopInvariant, 1);
});
