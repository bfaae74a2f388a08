/**
 * Coarse prompt category from a small local keyword/feature classifier: no
 * model, no network, deterministic. Scores each class by weighted keyword
 * hits in the LAST user instruction (what the agent was asked), plus
 * structural features (code fences, tool use). Highest score wins; ties and
 * zero scores fall back to `conversation` (short) or `other`.
 */
export const PROMPT_CLASSES = [
  'code_generation',
  'summarization',
  'data_analysis',
  'tool_orchestration',
  'translation',
  'question_answering',
  'conversation',
  'other',
] as const;
export type PromptClass = (typeof PROMPT_CLASSES)[number];

const KEYWORDS: Array<[PromptClass, RegExp, number]> = [
  ['code_generation', /\b(?:code|function|implement|refactor|bug|debug|compile|script|class|method|unit tests?|typescript|javascript|python|rust|golang|java|sql query|regex|stack ?trace|pull request|fix the)\b/gi, 2],
  ['summarization', /\b(?:summari[sz]e|summary|tl;?dr|key points|recap|condense|abstract|brief overview|digest)\b/gi, 3],
  ['data_analysis', /\b(?:analy[sz]e|analysis|dataset|csv|table|statistics?|average|median|mean|trend|chart|plot|correlat\w*|aggregate|revenue|metrics?)\b/gi, 2],
  ['tool_orchestration', /\b(?:use the tool|call the|run the command|execute|list (?:the )?files|read the file|open the file|fetch|download|deploy|delete|create (?:a )?bucket|search the web)\b/gi, 2],
  ['translation', /\b(?:translate|translation|in (?:french|german|spanish|japanese|chinese|italian|portuguese)|into (?:english|french|german|spanish))\b/gi, 3],
  ['question_answering', /(?:^|\s)(?:what|who|when|where|why|how|which|is|are|does|can)\b[^?]{0,200}\?/gi, 1],
];

export interface PromptFeatures {
  /** The last user instruction (plaintext, read here and dropped). */
  instruction: string;
  toolsOffered: number;
  toolResults: number;
}

export function classifyPrompt(f: PromptFeatures): PromptClass {
  const scores = new Map<PromptClass, number>();
  const text = f.instruction.slice(0, 65536);
  for (const [cls, re, w] of KEYWORDS) {
    re.lastIndex = 0;
    const n = text.match(re)?.length ?? 0;
    if (n) scores.set(cls, (scores.get(cls) ?? 0) + n * w);
  }
  if (/```/.test(text)) scores.set('code_generation', (scores.get('code_generation') ?? 0) + 3);
  // A turn that carries tool results back, or offers tools, is orchestration unless the words say otherwise.
  if (f.toolResults > 0) scores.set('tool_orchestration', (scores.get('tool_orchestration') ?? 0) + 3);
  else if (f.toolsOffered > 0) scores.set('tool_orchestration', (scores.get('tool_orchestration') ?? 0) + 1);
  let best: PromptClass = 'other';
  let bestScore = 0;
  for (const c of PROMPT_CLASSES) {
    const s = scores.get(c) ?? 0;
    if (s > bestScore) {
      best = c;
      bestScore = s;
    }
  }
  if (bestScore === 0) return text.trim().length > 0 && text.length < 280 ? 'conversation' : 'other';
  return best;
}
