// A coding-agent session on the real npm `openai` SDK (bench/agent-session): the model asks for
// tools in turn — read a file, run a shell command, write a file — and the agent runs each one for
// real (fs, child_process) and sends the result back, until the model answers in text.
// Env: MOCK_URL, WORKDIR. Prints {turns} on stdout.
import OpenAI from 'openai';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { collectMessage } from './openai-stream.mjs';

const client = new OpenAI({ apiKey: 'sk-bench', baseURL: `${process.env.MOCK_URL}/v1`, maxRetries: 0 });
const fn = (name, props) => ({ type: 'function', function: { name, parameters: { type: 'object', properties: props } } });
const tools = [fn('read_file', { path: { type: 'string' } }), fn('run_shell', { command: { type: 'string' } }), fn('write_file', { path: { type: 'string' }, content: { type: 'string' } })];
const messages = [
  { role: 'system', content: 'You are a coding agent. Use the tools to inspect and change the repository.' },
  { role: 'user', content: 'Read the notes, check the files in the work directory, then write a summary.' },
];

function runTool(name, args) {
  if (name === 'read_file') return readFileSync(args.path, 'utf8');
  if (name === 'run_shell') return execFileSync('sh', ['-c', args.command], { cwd: process.env.WORKDIR, encoding: 'utf8' });
  if (name === 'write_file') {
    writeFileSync(args.path, args.content);
    return 'ok';
  }
  return `unknown tool ${name}`;
}

let turns = 0;
for (; turns < 10; turns++) {
  const r = await client.chat.completions.create({ model: 'gpt-4o-mini', messages, tools, stream: true, stream_options: { include_usage: true } });
  const msg = await collectMessage(r);
  if (msg.tool_calls.length === 0) break;
  messages.push(msg);
  for (const tc of msg.tool_calls) messages.push({ role: 'tool', tool_call_id: tc.id, content: runTool(tc.function.name, JSON.parse(tc.function.arguments)) });
}
process.stdout.write(JSON.stringify({ turns }) + '\n');
