/**
 * prompt_class accuracy on the hand-labelled sets (test/fixtures/prompts): `dev` and `holdout-1` (the
 * cue lists were tuned on them, so optimistic) and `holdout` (written after the rules were frozen, the
 * figure to quote), side by side
 * with the majority-class baseline and, with --compare, another build of the classifier (e.g. the
 * previous one: `git worktree add /tmp/old <rev> && (cd /tmp/old && npx tsc -p .)`).
 *   npm run build:ts && node dist/bench/prompt-class.js [--compare /tmp/old/dist/src/classify/prompt-class.js]
 * Ends with one JSON line of figures.
 */
import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { PromptFeatures } from '../src/classify/prompt-class.js';
import { evaluate, loadPromptSet, PROMPT_SETS, type LabelledPrompt } from '../test/helpers/prompt-set.js';

const { values } = parseArgs({ options: { compare: { type: 'string' } } });
const other = values.compare ? ((await import(pathToFileURL(resolve(values.compare)).href)) as { classifyPrompt: (f: PromptFeatures) => string }).classifyPrompt : null;

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
const figures: Record<string, number> = {};
for (const name of PROMPT_SETS) {
  const rows: LabelledPrompt[] = loadPromptSet(name);
  const e = evaluate(rows);
  console.log(`\n== ${name}: ${e.n} prompts, ${Object.keys(e.perLang).length} languages`);
  console.log(`accuracy ${e.correct}/${e.n} = ${pct(e.accuracy)}; majority-class baseline ${pct(e.majorityBaseline)}; ratio ${(e.accuracy / e.majorityBaseline).toFixed(2)}x`);
  console.log(`same class with and without tools in the loop: ${pct(e.loopInvariant)}`);
  let otherAcc: number | null = null;
  if (other) {
    otherAcc = rows.filter((r) => other({ instruction: r.text, toolsOffered: r.loop?.toolsOffered ?? 0, toolResults: r.loop?.toolResults ?? 0 }) === r.label).length / rows.length;
    console.log(`--compare ${values.compare}: ${pct(otherAcc)}; this build / compared ${(e.accuracy / Math.max(otherAcc, 1e-9)).toFixed(2)}x`);
  }
  console.log('class                precision  recall   n');
  for (const [c, x] of Object.entries(e.perClass)) console.log(`${c.padEnd(20)} ${pct(x.precision).padStart(8)} ${pct(x.recall).padStart(8)} ${String(x.n).padStart(3)}`);
  console.log('language accuracy: ' + Object.entries(e.perLang).map(([l, x]) => `${l} ${pct(x.accuracy)} (${x.n})`).join(', '));
  for (const m of e.misses) console.log(`  miss: labelled ${m.label}, got ${m.got}: ${JSON.stringify(m.text.slice(0, 80))}`);
  figures[`${name}_n`] = e.n;
  figures[`${name}_accuracy`] = Number(e.accuracy.toFixed(4));
  figures[`${name}_majority_baseline`] = Number(e.majorityBaseline.toFixed(4));
  figures[`${name}_loop_invariant`] = Number(e.loopInvariant.toFixed(4));
  if (otherAcc !== null) figures[`${name}_compared_accuracy`] = Number(otherAcc.toFixed(4));
}
console.log(JSON.stringify({ bench: 'prompt-class', ...figures }));
