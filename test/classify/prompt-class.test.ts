import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classifyPrompt } from '../../src/classify/prompt-class.js';

const c = (instruction: string, toolsOffered = 0, toolResults = 0) => classifyPrompt({ instruction, toolsOffered, toolResults });

test('prompt classes from keywords and structure', () => {
  assert.equal(c('Write a Python function that parses ISO dates and add unit tests'), 'code_generation');
  assert.equal(c('Summarize this incident report in three key points'), 'summarization');
  assert.equal(c('Analyze the sales dataset and compute the median revenue per region'), 'data_analysis');
  assert.equal(c('Translate this paragraph into French'), 'translation');
  assert.equal(c('anything', 2, 1), 'tool_orchestration');
  assert.equal(c('hi there!'), 'conversation');
  assert.equal(c(''), 'other');
  assert.equal(c('What is the capital of Peru?'), 'question_answering');
});
