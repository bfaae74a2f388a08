// Tool-using agent on the real npm `@anthropic-ai/sdk` (streaming). Env: MOCK_URL, PROMPT.
import Anthropic from '@anthropic-ai/sdk';
import { readFileSync } from 'node:fs';

const client = new Anthropic({ apiKey: process.env.ANTHROPIC_API_KEY ?? 'sk-ant-test', baseURL: process.env.MOCK_URL, maxRetries: 2 });
const tools = [{ name: 'read_file', description: 'Read a file', input_schema: { type: 'object', properties: { path: { type: 'string' }, max_bytes: { type: 'integer' }, note: { type: 'string' } }, required: ['path'] } }];
const messages = [{ role: 'user', content: process.env.PROMPT ?? 'Summarize the report file.' }];
const outputs = [];
for (let turn = 0; turn < 3; turn++) {
  const msg = await client.messages.stream({ model: process.env.MODEL ?? 'claude-haiku-4-5', max_tokens: 512, messages, tools }).finalMessage();
  outputs.push(msg.content.filter((b) => b.type === 'text').map((b) => b.text).join(''));
  const uses = msg.content.filter((b) => b.type === 'tool_use');
  if (uses.length === 0) break;
  messages.push({ role: 'assistant', content: msg.content });
  messages.push({ role: 'user', content: uses.map((u) => ({ type: 'tool_result', tool_use_id: u.id, content: readFileSync(u.input.path, 'utf8') })) });
}
process.stdout.write(JSON.stringify({ pid: process.pid, outputs }) + '\n');
