import type { LlmCall, ToolRequest } from '../contracts/exchange.js';
import { contentHash } from './hash.js';

/**
 * What a model's output hashes cover, so an investigator holding a recovered artifact can
 * recompute them (docs/events.md, "Hashes"):
 * - `arguments_hash` of a tool call: SHA-256 of the arguments exactly as the API returned them
 *   where the API returns a string (OpenAI `function.arguments`, Responses `arguments`), else of
 *   the compact JSON (`JSON.stringify`) of the object it returned (Anthropic `input`, Gemini `args`);
 * - `output_text_hash`: SHA-256 of the assistant text the client SDK assembles, null when empty;
 * - `output_hash`: the whole output. Text only: the same as `output_text_hash`. With tool calls:
 *   SHA-256 of the RFC 8785 canonical JSON of
 *   `{"text": <text>, "tool_calls": [{"name": <name>, "arguments": <arguments string>}, …]}`,
 *   tool calls in the order the API returned them. Null only when the output is empty: never the
 *   hash of an empty string standing for something.
 */
export function argumentsText(tr: ToolRequest): string {
  if (tr.argumentsText !== undefined) return tr.argumentsText;
  return typeof tr.arguments === 'string' ? tr.arguments : (JSON.stringify(tr.arguments ?? null) ?? 'null');
}

export function argumentsHash(tr: ToolRequest): string {
  return contentHash(argumentsText(tr));
}

export interface OutputHashes {
  output_hash: string | null;
  output_text_hash: string | null;
}

export function outputHashes(llm: Pick<LlmCall, 'outputText' | 'toolsRequested'>): OutputHashes {
  const text = llm.outputText ? contentHash(llm.outputText) : null;
  if (llm.toolsRequested.length === 0) return { output_hash: text, output_text_hash: text };
  // RFC 8785 form, written out: keys in sorted order, strings as JSON.stringify writes them (which is
  // RFC 8785's string form; it also survives a lone surrogate an API might send).
  const calls = llm.toolsRequested.map((t) => `{"arguments":${JSON.stringify(argumentsText(t))},"name":${JSON.stringify(t.name)}}`);
  const whole = `{"text":${JSON.stringify(llm.outputText)},"tool_calls":[${calls.join(',')}]}`;
  return { output_hash: contentHash(whole), output_text_hash: text };
}

/** SHA-256 of the model's own reasoning content when the API returned it, else null. */
export function reasoningHash(llm: Pick<LlmCall, 'reasoningText'>): string | null {
  return llm.reasoningText ? contentHash(llm.reasoningText) : null;
}
