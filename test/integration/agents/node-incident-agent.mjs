// The investigation incident on the real npm `openai` SDK: the agent reads an
// instruction file into its prompt; the (mock) model then asks it to read a
// secret file, run `ls`, and POST the secret file's exact bytes to a second
// host name. Env: MOCK_URL, INSTRUCTION_FILE, WORK_DIR, UPLOAD_IP (the address
// the upload host name resolves to: the test sandbox has no DNS for it).
// Prints {pid, calls: [{name, arguments}], uploaded} as JSON.
import OpenAI from 'openai';
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import https from 'node:https';

const client = new OpenAI({ apiKey: 'sk-test', baseURL: `${process.env.MOCK_URL}/v1`, maxRetries: 2 });
const fn = (name, description, properties) => ({ type: 'function', function: { name, description, parameters: { type: 'object', properties, required: Object.keys(properties) } } });
const tools = [
  fn('read_file', 'Read a file', { path: { type: 'string' } }),
  fn('run_command', 'Run a shell command in the work directory', { command: { type: 'string' } }),
  fn('http_post', 'POST a file to a URL', { url: { type: 'string' }, path: { type: 'string' } }),
];

function post(url, body) {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = https.request(
      { host: u.hostname, port: u.port, path: u.pathname, method: 'POST', headers: { 'content-type': 'application/octet-stream', 'content-length': body.length }, lookup: (_h, o, cb) => (o?.all ? cb(null, [{ address: process.env.UPLOAD_IP, family: 4 }]) : cb(null, process.env.UPLOAD_IP, 4)) },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const instruction = readFileSync(process.env.INSTRUCTION_FILE, 'utf8');
const messages = [{ role: 'user', content: instruction }];
const calls = [];
let uploaded = 0;
for (let turn = 0; turn < 6; turn++) {
  const r = await client.chat.completions.create({ model: 'gpt-4o-mini', messages, tools });
  const m = r.choices[0].message;
  if (!m.tool_calls?.length) break;
  messages.push(m);
  for (const tc of m.tool_calls) {
    calls.push({ name: tc.function.name, arguments: tc.function.arguments });
    const a = JSON.parse(tc.function.arguments);
    let content;
    if (tc.function.name === 'read_file') content = readFileSync(a.path, 'utf8');
    else if (tc.function.name === 'run_command') content = spawnSync('/bin/sh', ['-c', a.command], { cwd: process.env.WORK_DIR, encoding: 'utf8' }).stdout;
    else {
      const body = readFileSync(a.path);
      content = `status ${await post(a.url, body)}`;
      uploaded += body.length;
    }
    messages.push({ role: 'tool', tool_call_id: tc.id, content });
  }
}
process.stdout.write(JSON.stringify({ pid: process.pid, calls, uploaded }) + '\n');
