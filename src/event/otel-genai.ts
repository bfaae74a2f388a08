import type { CloudEvent } from '../contracts/envelope.js';
import { EventTypes } from '../contracts/envelope.js';

/**
 * OpenTelemetry GenAI semantic-convention attributes (semconv ≥ 1.37,
 * Development status) for an agent-action event, for exporters that turn
 * events into spans or log records. Only fields that name the same thing are
 * mapped; content attributes (`gen_ai.input.messages`, tool call arguments and
 * results) are never produced: the log holds no content. Reference: docs/events.md.
 */
export type OtelAttributes = Record<string, string | number | boolean | string[]>;

const PROVIDER: Record<string, string> = { openai: 'openai', anthropic: 'anthropic', gemini: 'gcp.gemini', bedrock: 'aws.bedrock', ollama: 'ollama' };
const OPERATION: Record<string, string> = {
  'chat.completions': 'chat',
  responses: 'chat',
  messages: 'chat',
  converse: 'chat',
  invoke: 'chat',
  'api.chat': 'chat',
  converseStream: 'chat',
  invokeStream: 'chat',
  generateContent: 'generate_content',
  streamGenerateContent: 'generate_content',
};

export function genAiAttributes(ce: CloudEvent): OtelAttributes {
  const d = ce.data as Record<string, any>;
  const a: OtelAttributes = {};
  if (d.agent_session_id) a['gen_ai.conversation.id'] = String(d.agent_session_id);
  if (d.agent?.id) a['gen_ai.agent.id'] = String(d.agent.id);
  if (d.outcome?.status === 'FAILURE' && typeof d.error_class === 'string') a['error.type'] = d.error_class;
  switch (ce.type) {
    case EventTypes.modelInvocation: {
      a['gen_ai.operation.name'] = OPERATION[d.operation] ?? 'chat';
      if (d.provider) a['gen_ai.provider.name'] = PROVIDER[d.provider] ?? d.provider;
      a['gen_ai.request.model'] = d.model_id;
      a['gen_ai.usage.input_tokens'] = d.prompt_token_count;
      a['gen_ai.usage.output_tokens'] = d.output_token_count;
      if (d.finish_reason) a['gen_ai.response.finish_reasons'] = [d.finish_reason];
      if (d.server) {
        const m = /^(.*?)(?::(\d+))?$/.exec(String(d.server))!;
        a['server.address'] = m[1]!;
        if (m[2]) a['server.port'] = Number(m[2]);
      }
      if (d.outcome?.status === 'FAILURE') a['error.type'] = 'model_api_error';
      break;
    }
    case EventTypes.toolInvocation:
      a['gen_ai.operation.name'] = 'execute_tool';
      a['gen_ai.tool.name'] = d.tool_name;
      if (d.call_id) a['gen_ai.tool.call.id'] = d.call_id;
      a['gen_ai.tool.type'] = d.transport === 'mcp' ? 'extension' : 'function';
      if (d.return_status === 'error') a['error.type'] = 'tool_error';
      break;
    default:
      break;
  }
  return a;
}
