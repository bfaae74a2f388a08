import { sortedTags } from '../classify/classifier.js';
import { classifyPrompt } from '../classify/prompt-class.js';
import type { Cause, ModelInvocationFields, ToolRequestedRef } from '../contracts/agent-fields.js';
import { EventTypes } from '../contracts/envelope.js';
import type { Exchange, LlmCall } from '../contracts/exchange.js';
import type { Proc } from '../correlate/process-table.js';
import { contentHash, contentHashParts, jsonOf, sha256Hex, utf8Bytes } from '../redact/hash.js';
import { keyedHash } from '../redact/keyed-hash.js';
import { errorClassLabel, safeLabel, safeLabelOrNull } from '../redact/label.js';
import { argumentsHash, outputHashes, reasoningHash } from '../redact/output-hash.js';
import { paramSchema } from '../redact/param-schema.js';
import { tokenCount } from '../redact/tokens.js';
import type { BuildContext } from './build-context.js';
import { errorFields } from './error-fields.js';
import { streamIncomplete } from './http-access.js';
import { emitTool } from './tool-invocation.js';

/**
 * A model call → model.invocation: the tool results it carries back close the
 * tool windows they answer (emitting their tool.invocation), the call starts
 * a turn or is its next step, and each tool it requests opens a window.
 */
/** Characters past which a text hashed twice is encoded to UTF-8 once (node:crypto encodes a string per update). */
const LONG_TEXT = 1 << 16;

export function modelInvocation(ctx: BuildContext, proc: Proc, x: Exchange, llm: LlmCall): void {
  const cls = ctx.cls;
  const session = proc.session;
  const id = ctx.newId(x.startNs);
  const retryKey = `model:${x.request?.authority ?? ''}:${llm.operation}`;
  ctx.resolveRetry(session, retryKey, id);

  // Tool results carried back close the local tool windows they answer. A
  // chat request re-sends the whole history, so results already matched (by
  // call id, or by content for name-only APIs) are not fresh.
  const resultEventIds: string[] = [];
  const seen = ctx.windows.resultsSeen(session);
  for (const r of llm.toolResults) {
    const fp = r.callId ? `id:${r.callId}` : `h:${r.name ?? ''}:${sha256Hex(r.text)}`;
    if (seen.has(fp)) continue;
    const w = ctx.windows.claim(session, r.callId, r.callId ? undefined : r.name && safeLabel(r.name, cls), 'result');
    if (!w) continue;
    seen.add(fp);
    w.answered = true;
    if (!w.emitted) {
      w.endNs = x.startNs;
      emitTool(ctx, w, { return_status: 'success', return_size: utf8Bytes(r.text), return_hash: contentHash(r.text), return_sensitivity: sortedTags(cls.text(r.text)) });
    }
    resultEventIds.push(w.eventId);
  }

  const userTexts = llm.inputTexts.filter((t) => t.role === 'user');
  const instruction = userTexts.length ? userTexts[userTexts.length - 1]!.text : '';
  const prompt_class = classifyPrompt({ instruction });
  // Most decoders also list tool results among the input texts (role `tool`); count each once.
  const toolTexts = new Set(llm.inputTexts.filter((t) => t.role === 'tool').map((t) => t.text));
  const inputTexts = [...llm.inputTexts.map((t) => t.text), ...llm.toolResults.filter((r) => !toolTexts.has(r.text)).map((r) => r.text)];
  const inTok = tokenCount(llm.usage?.inputTokens, inputTexts);
  const outTok = tokenCount(llm.usage?.outputTokens, [llm.outputText, ...llm.toolsRequested.map((t) => jsonOf(t.arguments))]);
  const inTags = new Set<string>();
  for (const t of inputTexts) cls.text(t, inTags);
  const outTags = cls.text(llm.outputText);
  const { output_hash, output_text_hash } = outputHashes(llm);

  // A new user turn: no fresh tool result, and the conversation ends with a user message.
  const last = llm.inputTexts[llm.inputTexts.length - 1];
  const newTurn = resultEventIds.length === 0 && (last === undefined || last.role === 'user');
  // reasoning.class is what the model decided at this step, not the prompt's class (that is prompt_class).
  const decided = llm.toolsRequested.length ? (llm.outputText ? 'tool_calls+text' : 'tool_calls') : llm.outputText ? 'answer' : 'empty';
  // A long instruction is hashed twice (keyed, and in input_hash): encode its UTF-8 once for both.
  const instructionUtf8 = instruction.length >= LONG_TEXT ? Buffer.from(instruction, 'utf8') : undefined;
  const utf8Once = (s: string): string | Buffer => (instructionUtf8 && s === instruction ? instructionUtf8 : s);
  const t = ctx.turns.next(session.id, id, newTurn, instruction ? keyedHash('instruction', instructionUtf8 ?? instruction) : null, { hash: reasoningHash(llm), class: decided, token_count: outTok.count });

  const tools_requested: ToolRequestedRef[] = [];
  for (const tr of llm.toolsRequested) {
    const name = safeLabel(tr.name, cls);
    const sensitivity = sortedTags(cls.value(tr.arguments));
    const schema = paramSchema(tr.arguments, cls);
    tools_requested.push({ name, call_id: tr.callId ?? null, param_schema: schema, param_sensitivity: sensitivity, arguments_hash: argumentsHash(tr) });
    ctx.windows.open({
      eventId: ctx.newId(x.endNs),
      name,
      callId: tr.callId ?? null,
      args: tr.arguments,
      schema,
      sensitivity,
      paramsHash: tr.arguments === undefined ? null : keyedHash('params', jsonOf(tr.arguments)),
      modelEventId: id,
      invocationId: t.invocationId,
      reasoning: t.reasoning,
      session,
      proc,
      startNs: x.endNs,
    });
  }

  const failed = llm.error !== undefined || (x.response?.status ?? 0) >= 400;
  const cause: Cause = resultEventIds.length
    ? { type: 'tool_result', session_id: ctx.causeSession(session), event_id: resultEventIds[0]! }
    : { type: 'user_instruction', session_id: ctx.causeSession(session), ...(t.instructionHash ? { instruction_hash: t.instructionHash } : {}) };
  if (!llm.model) ctx.internal('event', 'llm_model_missing');
  ctx.emit(EventTypes.modelInvocation, proc, x.startNs, id, cause, t.reasoning, ctx.outcome(x, failed), {
    model_id: llm.model ? safeLabel(llm.model, cls) : 'unknown',
    prompt_class,
    prompt_token_count: inTok.count,
    input_sensitivity: sortedTags(inTags),
    output_token_count: outTok.count,
    output_sensitivity: sortedTags(outTags),
    output_hash,
    output_text_hash,
    output_complete: !x.incomplete && !x.response?.truncated,
    tools_requested,
    policy_interventions: [],
    provider: llm.provider,
    operation: llm.operation,
    stream: llm.stream,
    token_count_source: inTok.source === outTok.source ? inTok.source : `${inTok.source}+${outTok.source}`,
    input_hash: contentHashParts(inputTexts.flatMap((s, i) => (i ? ['\n', utf8Once(s)] : [utf8Once(s)]))),
    // A request cut by a capture cap keeps its true size.
    input_byte_count: llm.inputComplete === false ? (llm.inputWireBytes ?? 0) : inputTexts.reduce((n, s) => n + utf8Bytes(s), 0),
    input_complete: llm.inputComplete !== false,
    output_byte_count: utf8Bytes(llm.outputText),
    tools_offered: llm.toolsOffered.map((n) => safeLabel(n, cls)),
    finish_reason: safeLabelOrNull(llm.finishReason, cls, 64),
    server: x.request?.authority ?? null,
    tool_result_event_ids: resultEventIds,
  } satisfies ModelInvocationFields);
  if (failed) {
    const status = llm.error?.status ?? x.response?.status ?? 0;
    const errClass = `model_api_error${llm.error?.type ? `:${errorClassLabel(llm.error.type, cls)}` : ''}`;
    ctx.holdError(proc, x.endNs, retryKey, errorFields(errClass, id, { http_status: status || null }));
  }
  if (x.incomplete) streamIncomplete(ctx, proc, x, id);
}
