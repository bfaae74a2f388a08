// HTTP/2 model calls whose request body is above a small TLS capture cap, from two real clients, one
// child each (a sensor tracing this pid traces them): curl --http2 and a node:http2 client. Each sends
// a chat completion whose body is BODY_BYTES long (ASCII, exact), then a small second call on a new
// connection, so a desynchronised decoder would show. Writes [{name, model, bodyBytes, promptBytes, status, pid, output}]
// to RESULT_FILE. Env: MOCK_URL, CA_FILE, RESULT_FILE, WORK_DIR, BODY_BYTES.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

const url = process.env.MOCK_URL;
const size = Number(process.env.BODY_BYTES);
const sentence = 'The quick brown fox jumps over the lazy dog near the river bank. ';
/** A request body of exactly n bytes: the prompt is padded to fit. */
function body(model, n) {
  const empty = JSON.stringify({ model, messages: [{ role: 'user', content: '' }] }).length;
  const content = sentence.repeat(Math.ceil(n / sentence.length)).slice(0, n - empty);
  const b = JSON.stringify({ model, messages: [{ role: 'user', content }] });
  if (b.length !== n) throw new Error(`body ${b.length} != ${n}`);
  return { b, promptBytes: content.length };
}

// node:http2 writes the body through one stream; DATA frames go out as the flow-control window allows.
const nodeH2 = `import http2 from 'node:http2';
import { readFileSync } from 'node:fs';
const b = readFileSync(process.env.BODY_FILE);
const s = http2.connect(process.env.MOCK_URL, { ca: readFileSync(process.env.CA_FILE) });
const req = s.request({ ':method': 'POST', ':path': '/v1/chat/completions', 'content-type': 'application/json', 'content-length': String(b.length), authorization: 'Bearer sk-test' });
let out = '';
req.setEncoding('utf8');
req.on('data', (c) => (out += c));
req.on('end', () => { console.log(JSON.stringify({ output: JSON.parse(out).choices[0].message.content })); s.close(); });
req.end(b);`;

const runs = [
  { name: 'curl-h2-over-cap', model: 'h2-curl-over-cap', bytes: size, curl: true },
  { name: 'curl-h2-after', model: 'h2-curl-after', bytes: 300, curl: true },
  { name: 'node-h2-over-cap', model: 'h2-node-over-cap', bytes: size },
  { name: 'node-h2-after', model: 'h2-node-after', bytes: 300 },
];
const results = [];
for (const r of runs) {
  const file = join(process.env.WORK_DIR, `${r.name}.json`);
  const { b, promptBytes } = body(r.model, r.bytes);
  writeFileSync(file, b);
  const p = r.curl
    ? spawnSync('curl', ['-sS', '--http2', '--cacert', process.env.CA_FILE, '-H', 'content-type: application/json', '-H', 'authorization: Bearer sk-test', '--data-binary', `@${file}`, `${url}/v1/chat/completions`], { encoding: 'utf8', timeout: 120_000 })
    : spawnSync(process.execPath, ['--input-type=module', '-e', nodeH2], { env: { ...process.env, BODY_FILE: file }, encoding: 'utf8', timeout: 120_000 });
  let out;
  try {
    const j = JSON.parse(p.stdout.trim().split('\n').pop());
    out = { output: r.curl ? j.choices[0].message.content : j.output };
  } catch {
    out = { error: `exit ${p.status}`, stderr: (p.stderr ?? '').slice(-2000) };
  }
  results.push({ name: r.name, model: r.model, bodyBytes: r.bytes, promptBytes, status: p.status, pid: p.pid, ...out });
}
writeFileSync(process.env.RESULT_FILE, JSON.stringify(results, null, 1));
