// Large model calls from three real clients, one child process each, so a
// sensor tracing this pid traces them all: the npm `openai` SDK, the PyPI
// `openai` SDK and curl, each sending a single-message chat completion whose
// prompt is exactly SIZES[i] bytes of ASCII; then Python's http.client (one
// SSL_write of the whole body) sending a body above the default 2 MiB capture
// cap. Writes [{name, model, promptBytes, bodyBytes?, status, pid, output}] to
// RESULT_FILE. Env: MOCK_URL, PYTHON, CA_FILE, SIZES (comma-separated), OVER_CAP_BYTES.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

const py = process.env.PYTHON;
const url = process.env.MOCK_URL;
const env = { ...process.env, NODE_EXTRA_CA_CERTS: process.env.CA_FILE, SSL_CERT_FILE: process.env.CA_FILE };
const sentence = 'The quick brown fox jumps over the lazy dog near the river bank. ';
const promptJs = `const s = ${JSON.stringify(sentence)}; const n = Number(process.env.PROMPT_BYTES); const prompt = s.repeat(Math.ceil(n / s.length)).slice(0, n);`;
const promptPy = `s = ${JSON.stringify(sentence)}\nn = int(os.environ["PROMPT_BYTES"])\nprompt = (s * (n // len(s) + 1))[:n]\n`;

const nodeOpenai = `import OpenAI from 'openai';
${promptJs}
const client = new OpenAI({ apiKey: 'sk-test', baseURL: process.env.MOCK_URL + '/v1', maxRetries: 0 });
const r = await client.chat.completions.create({ model: process.env.MODEL, messages: [{ role: 'user', content: prompt }] });
console.log(JSON.stringify({ output: r.choices[0].message.content }));`;

const pyOpenai = `import json, os, openai
${promptPy}client = openai.OpenAI(api_key="sk-test", base_url=os.environ["MOCK_URL"] + "/v1", max_retries=0)
r = client.chat.completions.create(model=os.environ["MODEL"], messages=[{"role": "user", "content": prompt}])
print(json.dumps({"output": r.choices[0].message.content}))`;

// http.client hands the whole body to one SSLSocket.sendall -> one SSL_write_ex call.
const pyOverCap = `import http.client, json, os, ssl, urllib.parse
${promptPy}u = urllib.parse.urlparse(os.environ["MOCK_URL"])
body = json.dumps({"model": os.environ["MODEL"], "messages": [{"role": "user", "content": prompt}]}).encode()
c = http.client.HTTPSConnection(u.hostname, u.port, context=ssl.create_default_context(cafile=os.environ["CA_FILE"]))
c.request("POST", "/v1/chat/completions", body=body, headers={"content-type": "application/json", "authorization": "Bearer sk-test"})
r = c.getresponse()
out = json.loads(r.read())
print(json.dumps({"output": out["choices"][0]["message"]["content"], "bodyBytes": len(body)}))`;

function curlArgs(model, bytes, file) {
  const s = sentence.repeat(Math.ceil(bytes / sentence.length)).slice(0, bytes);
  writeFileSync(file, JSON.stringify({ model, messages: [{ role: 'user', content: s }] }));
  return ['-sS', '--cacert', process.env.CA_FILE, '-H', 'content-type: application/json', '-H', 'authorization: Bearer sk-test',
    '--data-binary', `@${file}`, `${url}/v1/chat/completions`];
}

const runs = [];
for (const size of process.env.SIZES.split(',').map(Number)) {
  runs.push({ name: `node-openai-${size}`, model: `large-node-${size}`, promptBytes: size, cmd: process.execPath, args: ['--input-type=module', '-e', nodeOpenai] });
  runs.push({ name: `py-openai-${size}`, model: `large-py-${size}`, promptBytes: size, cmd: py, args: ['-c', pyOpenai] });
  runs.push({ name: `curl-${size}`, model: `large-curl-${size}`, promptBytes: size, cmd: 'curl', curl: true });
}
const over = Number(process.env.OVER_CAP_BYTES);
runs.push({ name: 'py-http-client-over-cap', model: 'large-py-over-cap', promptBytes: over, cmd: py, args: ['-c', pyOverCap] });

const results = [];
for (const r of runs) {
  const args = r.curl ? curlArgs(r.model, r.promptBytes, join(process.env.WORK_DIR, `${r.name}.json`)) : r.args;
  const p = spawnSync(r.cmd, args, { env: { ...env, MODEL: r.model, PROMPT_BYTES: String(r.promptBytes) }, encoding: 'utf8', timeout: 120_000, maxBuffer: 64 << 20, cwd: process.env.REPO_ROOT });
  let out;
  try {
    const j = JSON.parse(p.stdout.trim().split('\n').pop());
    out = r.curl ? { output: j.choices[0].message.content } : j;
  } catch {
    out = { error: `exit ${p.status}`, stderr: (p.stderr ?? '').slice(-2000) };
  }
  results.push({ name: r.name, model: r.model, promptBytes: r.promptBytes, status: p.status, pid: p.pid, ...out });
}
writeFileSync(process.env.RESULT_FILE, JSON.stringify(results, null, 1));
