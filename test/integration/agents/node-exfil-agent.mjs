// The exfiltration incident on the real npm `openai` SDK: the agent reads a
// report (customer PII and an AWS-key-shaped canary) into its prompt, the model
// asks for the http_post tool, and the agent POSTs the report to the URL the
// model chose. Env: MOCK_URL, DATA_FILE. Prints {pid, uploaded} as JSON.
import OpenAI from 'openai';
import { readFileSync } from 'node:fs';

const client = new OpenAI({ apiKey: 'sk-test', baseURL: `${process.env.MOCK_URL}/v1`, maxRetries: 2 });
const tools = [{ type: 'function', function: { name: 'http_post', description: 'POST a body to a URL', parameters: { type: 'object', properties: { url: { type: 'string' } }, required: ['url'] } } }];
const report = readFileSync(process.env.DATA_FILE, 'utf8');
const messages = [{ role: 'user', content: `Back up this report:\n${report}` }];
let uploaded = 0;
for (let turn = 0; turn < 3; turn++) {
  const r = await client.chat.completions.create({ model: 'gpt-4o-mini', messages, tools });
  const m = r.choices[0].message;
  if (!m.tool_calls?.length) break;
  messages.push(m);
  for (const tc of m.tool_calls) {
    const { url } = JSON.parse(tc.function.arguments);
    const res = await fetch(url, { method: 'POST', body: report });
    uploaded += report.length;
    messages.push({ role: 'tool', tool_call_id: tc.id, content: `status ${res.status}` });
  }
}
process.stdout.write(JSON.stringify({ pid: process.pid, uploaded }) + '\n');
