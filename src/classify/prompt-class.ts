import { CUES, EXPLAIN, INTERROGATIVES } from './prompt-cues.js';

/**
 * `prompt_class`: what the user asked for in this turn, from the words of the request alone. A
 * small deterministic cue classifier (no model, no network), documented in docs/redaction.md and
 * measured against a hand-labelled set (test/fixtures/prompts, bench/prompt-class.ts).
 *
 * The input is the last user instruction of the request. The loop's mechanics (tools offered, tool
 * results carried back) are deliberately NOT features: every step of one agent turn answers the
 * same request and gets the same class, and an agent with tools that is asked a question is still
 * asked a question.
 *
 * 1. Harness wrappers that agent CLIs put into user messages (`<system-reminder>…`) are removed.
 * 2. The request is the text before the first blank line or code fence; what follows (a pasted
 *    thread, a table, a log) counts half, so quoted material does not outvote the ask.
 * 3. Each class scores its cue weight per matching cue (at most 3 hits per cue list); a code fence
 *    adds 3 to code_generation; an interrogative plus a question mark scores question_answering 3
 *    (a bare question mark 1), and so does asking for an explanation ("explain how …").
 * 4. The highest score wins; ties go to the more specific class (order of TIE_ORDER). No cue at
 *    all: `conversation` for a short message (≤ 60 characters), else `other`.
 */
export const PROMPT_CLASSES = ['code_generation', 'summarization', 'data_analysis', 'tool_orchestration', 'translation', 'question_answering', 'conversation', 'other'] as const;
export type PromptClass = (typeof PROMPT_CLASSES)[number];

const TIE_ORDER: PromptClass[] = ['translation', 'summarization', 'code_generation', 'data_analysis', 'tool_orchestration', 'other', 'question_answering', 'conversation'];
const MAX_CHARS = 65536;
const SHORT = 60;

export interface PromptFeatures {
  /** The last user instruction (plaintext, read here and dropped). */
  instruction: string;
  /** Accepted for the caller's convenience and not scored: loop mechanics are not the user's request. */
  toolsOffered?: number;
  toolResults?: number;
}

const word = (alts: string[]) => new RegExp(`(?<![\\p{L}\\p{N}_])(?:${alts.join('|')})`, 'giu');
const anywhere = (alts: string[]) => new RegExp(alts.map((a) => a.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|'), 'gu');
const SETS = CUES.map((c) => ({ cls: c.cls, weight: c.weight, latin: word(c.latin), cjk: c.cjk.length ? anywhere(c.cjk) : null }));
const QWORD = word(INTERROGATIVES.latin);
const QCJK = anywhere(INTERROGATIVES.cjk);
const XWORD = word(EXPLAIN.latin);
const XCJK = anywhere(EXPLAIN.cjk);
const HARNESS = /<(system-reminder|environment_details|command-[a-z-]+|local-command-stdout)>[\s\S]*?<\/\1>/g;
const FENCE = /```[\s\S]*?(?:```|$)/g;

function hits(re: RegExp, s: string): number {
  re.lastIndex = 0;
  let n = 0;
  while (n < 3 && re.exec(s)) n++;
  return n;
}

/** Per-class scores of one instruction (exported for the bench and tests). */
export function promptScores(instruction: string): Map<PromptClass, number> {
  let text = instruction.slice(0, MAX_CHARS).normalize('NFKC').replace(HARNESS, ' ');
  const scores = new Map<PromptClass, number>();
  const add = (c: PromptClass, n: number) => n && scores.set(c, (scores.get(c) ?? 0) + n);
  if (/```/.test(text)) add('code_generation', 3);
  text = text.toLowerCase().trim();
  const cut = text.search(/\n\s*\n|```/);
  const parts: Array<[string, number]> = cut > 0 ? [[text.slice(0, cut), 1], [text.slice(cut).replace(FENCE, ' '), 0.5]] : [[text.replace(FENCE, ' '), 1]];
  for (const [part, factor] of parts) {
    for (const s of SETS) add(s.cls, factor * s.weight * (hits(s.latin, part) + (s.cjk ? hits(s.cjk, part) : 0)));
    if (/[?？]/.test(part)) add('question_answering', factor * (hits(QWORD, part) + hits(QCJK, part) > 0 ? 3 : 1));
    if (hits(XWORD, part) + hits(XCJK, part) > 0) add('question_answering', factor * 3);
  }
  return scores;
}

export function classifyPrompt(f: PromptFeatures): PromptClass {
  const scores = promptScores(f.instruction);
  let best: PromptClass | null = null;
  for (const c of TIE_ORDER) if ((scores.get(c) ?? 0) > (best ? scores.get(best)! : 0)) best = c;
  if (best) return best;
  const t = f.instruction.replace(HARNESS, ' ').trim();
  return t.length > 0 && t.length <= SHORT ? 'conversation' : 'other';
}
