import { countTokens } from 'gpt-tokenizer';

/**
 * Token counts: the API's own `usage` when the response carries it, otherwise
 * counted locally with gpt-tokenizer (o200k_base, the GPT-4o/4.1/o-series
 * encoding; an approximation for other vendors' models). The source is
 * recorded next to the count.
 */
export const TOKENIZER_NAME = 'gpt-tokenizer:o200k_base';

export function countTextTokens(texts: string[]): number {
  let n = 0;
  for (const t of texts) {
    if (!t) continue;
    try {
      // Special-token strings inside user text are ordinary text here.
      n += countTokens(t, { disallowedSpecial: new Set() });
    } catch {
      n += Math.ceil(Buffer.byteLength(t, 'utf8') / 4);
    }
  }
  return n;
}

export function tokenCount(api: number | undefined, texts: string[]): { count: number; source: 'api' | typeof TOKENIZER_NAME } {
  if (typeof api === 'number' && Number.isFinite(api) && api >= 0) return { count: api, source: 'api' };
  return { count: countTextTokens(texts), source: TOKENIZER_NAME };
}
