// A minimal tool-using agent on the real npm `openai` SDK: ask the model, run
// the tool it requests (read a file), send the result back, print what the
// SDK returned as JSON on stdout. Env: MOCK_URL, PROMPT, STREAM=1.
import OpenAI from 'openai';
import { readFileSync } from 'node:fs';
import { collectMessage } from './openai-stream.mjs';

const client = new OpenAI({ apiKey: process.env.OPENAI_API_KEY ?? 'sk-test', baseURL: `${process.env.MOCK_URL}/v1`, maxRetries: 2 });
const tools = [{ type: 'function', function: { name: 'read_file', description: 'Read a file', parameters: { type: 'object', properties: { path: { type: 'string' }, max_bytes: { type: 'integer' }, note: { type: 'string' } }, required: ['path'] } } }];
const messages = [
  { role: 'system', content: 'You are a careful assistant that can read files.' },
  { role: 'user', content: process.env.PROMPT ?? 'Summarize the report file.' },
];
const stream = process.env.STREAM === '1';
const outputs = [];

async function ask() {
  if (!stream) {
    const r = await client.chat.completions.create({ model: process.env.MODEL ?? 'gpt-4o-mini', messages, tools });
    return r.choices[0].message;
  }
  const s = await client.chat.completions.create({ model: process.env.MODEL ?? 'gpt-4o-mini', messages, tools, stream: true, stream_options: { include_usage: true } });
  const msg = await collectMessage(s);
  if (msg.tool_calls.length === 0) delete msg.tool_calls;
  return msg;
}

for (let turn = 0; turn < 3; turn++) {
  const m = await ask();
  outputs.push(m.content ?? '');
  if (!m.tool_calls?.length) break;
  messages.push(m);
  for (const tc of m.tool_calls) {
    const args = JSON.parse(tc.function.arguments);
    const text = readFileSync(args.path, 'utf8');
    messages.push({ role: 'tool', tool_call_id: tc.id, content: text });
  }
}
process.stdout.write(JSON.stringify({ pid: process.pid, outputs }) + '\n');
