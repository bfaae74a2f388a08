// Runs every SDK agent one after the other as children of this process (so a
// sensor tracing this pid traces them all) and writes what each SDK returned
// to RESULT_FILE. Env: MOCK_URL, PYTHON, CA_FILE, PROMPT, RESULT_FILE.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const py = process.env.PYTHON;
const env = { ...process.env, NODE_EXTRA_CA_CERTS: process.env.CA_FILE, SSL_CERT_FILE: process.env.CA_FILE };
const agents = [
  { name: 'node-openai', cmd: process.execPath, args: [join(here, 'node-openai-agent.mjs')], env: { MODEL: 'gpt-4o-mini' } },
  { name: 'node-openai-stream', cmd: process.execPath, args: [join(here, 'node-openai-agent.mjs')], env: { MODEL: 'gpt-4.1-nano', STREAM: '1' } },
  { name: 'node-anthropic', cmd: process.execPath, args: [join(here, 'node-anthropic-agent.mjs')], env: { MODEL: 'claude-haiku-4-5' } },
  { name: 'node-mcp-http', cmd: process.execPath, args: [join(here, 'node-mcp-agent.mjs')], env: {} },
  { name: 'node-mcp-stdio', cmd: process.execPath, args: [join(here, 'node-mcp-agent.mjs')], env: { MCP_STDIO: `${process.execPath} ${join(here, 'mcp-stdio-server.mjs')}` } },
  { name: 'py-openai', cmd: py, args: [join(here, 'py_openai_agent.py')], env: { MODEL: 'gpt-4o' } },
  { name: 'py-anthropic', cmd: py, args: [join(here, 'py_anthropic_agent.py')], env: { MODEL: 'claude-sonnet-4-6' } },
  { name: 'py-mcp-stdio', cmd: py, args: [join(here, 'py_mcp_stdio_agent.py')], env: {} },
  {
    name: 'curl-gemini-h2',
    cmd: 'curl',
    args: ['-sS', '--http2', '--cacert', process.env.CA_FILE, '-H', 'content-type: application/json', '-H', `x-goog-api-key: ${process.env.GEMINI_API_KEY ?? 'AIzaSy-test'}`,
      '--data-binary', JSON.stringify({ contents: [{ role: 'user', parts: [{ text: process.env.PROMPT ?? 'hello' }] }] }),
      `${process.env.MOCK_URL}/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse`],
    env: {},
    curl: true,
  },
];
const results = [];
for (const a of agents) {
  const r = spawnSync(a.cmd, a.args, { env: { ...env, ...a.env }, encoding: 'utf8', timeout: 60_000 });
  let out;
  if (a.curl) {
    // What the client received: the SSE data lines' text parts, in order.
    const text = r.stdout.split(/\r?\n/).filter((l) => l.startsWith('data: ')).map((l) => JSON.parse(l.slice(6)).candidates?.[0]?.content?.parts?.map((p) => p.text ?? '').join('') ?? '').join('');
    out = { pid: r.pid, outputs: [text] };
  } else {
    try {
      out = JSON.parse(r.stdout.trim().split('\n').pop());
    } catch {
      out = { error: `exit ${r.status}`, stderr: r.stderr.slice(-2000) };
    }
  }
  results.push({ name: a.name, status: r.status, ...out });
}
writeFileSync(process.env.RESULT_FILE, JSON.stringify(results, null, 1));
