import { test } from 'node:test';
import assert from 'node:assert/strict';
import { genAiAttributes } from '../../src/event/otel-genai.js';
import { harness, referenceSession } from './scenario.js';

test('OpenTelemetry GenAI attributes for model and tool events carry no content', () => {
  const { b, byType } = harness();
  referenceSession(b, { prompt: 'PLANTED-PROMPT', arg: 'PLANTED-ARG', fileText: 'f', key: 'sk-proj-Zz9LmT2vR7wK4pN8sB3yH6dF1gJ5cZ0a', toolResult: 'r' });
  const m = genAiAttributes(byType('model.invocation')[0]!);
  assert.equal(m['gen_ai.operation.name'], 'chat');
  assert.equal(m['gen_ai.provider.name'], 'openai');
  assert.equal(m['gen_ai.request.model'], 'gpt-4o-mini');
  assert.equal(m['gen_ai.usage.input_tokens'], 57);
  assert.equal(m['gen_ai.usage.output_tokens'], 12);
  assert.equal(m['server.address'], 'api.openai.com');
  const t = genAiAttributes(byType('tool.invocation').find((e) => (e.data as { tool_name: string }).tool_name === 'query_db')!);
  assert.equal(t['gen_ai.operation.name'], 'execute_tool');
  assert.equal(t['gen_ai.tool.name'], 'query_db');
  assert.equal(t['gen_ai.tool.call.id'], 'call_3');
  assert.equal(t['gen_ai.tool.type'], 'extension');
  assert.ok(!JSON.stringify([m, t]).includes('PLANTED'));
});
