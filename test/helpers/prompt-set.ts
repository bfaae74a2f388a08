/**
 * The hand-labelled prompt sets of test/fixtures/prompts (labels written by a person, never by the
 * classifier) and their evaluation: accuracy, per-class precision/recall, per-language accuracy,
 * and whether the class stays the same when the loop features change (it must: the class is the
 * user's request, not the mechanics of the agent loop). Shared by the test and bench/prompt-class.ts.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../../src/paths.js';
import { classifyPrompt, PROMPT_CLASSES, type PromptClass } from '../../src/classify/prompt-class.js';

export interface LabelledPrompt {
  text: string;
  label: PromptClass;
  lang: string;
  loop?: { toolsOffered: number; toolResults: number };
}

export const PROMPT_SETS = ['dev', 'holdout-1', 'holdout'] as const;

export function loadPromptSet(name: string): LabelledPrompt[] {
  const rows = readFileSync(join(repoRoot, 'test', 'fixtures', 'prompts', `${name}.jsonl`), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as LabelledPrompt);
  for (const r of rows) if (!(PROMPT_CLASSES as readonly string[]).includes(r.label)) throw new Error(`${name}: unknown label ${r.label}`);
  return rows;
}

export interface Evaluation {
  n: number;
  correct: number;
  accuracy: number;
  /** Accuracy of always answering the most frequent label: the floor any classifier must beat. */
  majorityBaseline: number;
  perClass: Record<string, { n: number; precision: number; recall: number }>;
  perLang: Record<string, { n: number; accuracy: number }>;
  /** Share of prompts whose class is the same with no tools and with tools offered and results carried back. */
  loopInvariant: number;
  misses: Array<{ text: string; label: string; got: string }>;
}

export function evaluate(rows: LabelledPrompt[]): Evaluation {
  const got = rows.map((r) => classifyPrompt({ instruction: r.text, toolsOffered: r.loop?.toolsOffered ?? 0, toolResults: r.loop?.toolResults ?? 0 }));
  const plain = rows.map((r) => classifyPrompt({ instruction: r.text, toolsOffered: 0, toolResults: 0 }));
  const looped = rows.map((r) => classifyPrompt({ instruction: r.text, toolsOffered: 5, toolResults: 2 }));
  const correct = got.filter((g, i) => g === rows[i]!.label).length;
  const counts = new Map<string, number>();
  for (const r of rows) counts.set(r.label, (counts.get(r.label) ?? 0) + 1);
  const perClass: Evaluation['perClass'] = {};
  for (const c of PROMPT_CLASSES) {
    const tp = got.filter((g, i) => g === c && rows[i]!.label === c).length;
    const predicted = got.filter((g) => g === c).length;
    const actual = counts.get(c) ?? 0;
    if (actual || predicted) perClass[c] = { n: actual, precision: predicted ? tp / predicted : 0, recall: actual ? tp / actual : 0 };
  }
  const perLang: Evaluation['perLang'] = {};
  for (const lang of new Set(rows.map((r) => r.lang))) {
    const idx = rows.map((r, i) => (r.lang === lang ? i : -1)).filter((i) => i >= 0);
    perLang[lang] = { n: idx.length, accuracy: idx.filter((i) => got[i] === rows[i]!.label).length / idx.length };
  }
  return {
    n: rows.length,
    correct,
    accuracy: correct / rows.length,
    majorityBaseline: Math.max(...counts.values()) / rows.length,
    perClass,
    perLang,
    loopInvariant: plain.filter((p, i) => p === looped[i]).length / rows.length,
    misses: rows.map((r, i) => ({ text: r.text, label: r.label, got: got[i]! })).filter((m) => m.got !== m.label),
  };
}
