#!/usr/bin/env node
// Re-records test/fixtures/captures/*.arcap: real SDK agents (npm and PyPI
// openai/anthropic/mcp, curl over HTTP/2) talk to the local HTTPS mock
// (throwaway CA) while `agentrail record` (root, real kernel) traces them.
// Each group of agents runs under a launcher shell that stops itself until the
// recorder is attached, so the capture holds their exec/fork records and a
// replay rebuilds the process table. Only fixed, fake data is used (no secret
// leaves this machine): the fixture key and prompt below, the mock's answers.
//
// Then it replays each capture with `agentrail run --replay` and writes
// NAME.expected.json: what the SDKs returned (as hashes) plus the replay's
// deterministic summary (test/replay/capture-summary.ts).
//
// usage: node scripts/record-fixtures.mjs [--dist DIR] [--expected-only] [GROUP ...]
//   (run `npx tsc -p .` first; DIR defaults to $AGENTRAIL_DIST or dist)
//   --expected-only: keep the captures, replay them and rewrite the summaries
//   (after a deliberate change of the stages' output)
import { spawn, spawnSync } from 'node:child_process';
import { createHash, createHmac } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const agentsDir = join(repo, 'test', 'integration', 'agents');
const outDir = join(repo, 'test', 'fixtures', 'captures');

/** Fixed, fake inputs: the same on every re-recording, nothing real. */
export const FIXTURE = {
  dataDir: '/tmp/agentrail-fixture',
  dataFile: '/tmp/agentrail-fixture/quarterly-report.txt',
  fileText: 'Quarterly numbers for jane.doe@example.com: revenue up 4%, test card 4111 1111 1111 1111.\n'.repeat(8),
  prompt: 'Summarize the quarterly report for jane.doe@example.com.',
  email: 'jane.doe@example.com',
  openaiKey: 'sk-fixture-not-a-real-key-0000000000000000',
  anthropicKey: 'sk-ant-fixture-not-a-real-key-000000000000',
  finalText: 'The report shows steady growth.',
  mcpToolText: 'customer record found',
};

/** Capture groups: few agents per file keeps each capture small. */
const GROUPS = {
  'node-openai': ['node-openai', 'node-openai-stream'],
  'node-anthropic': ['node-anthropic'],
  'node-mcp': ['node-mcp-http', 'node-mcp-stdio'],
  'py-openai': ['py-openai'],
  'py-anthropic': ['py-anthropic'],
  'py-mcp-stdio': ['py-mcp-stdio'],
  'curl-gemini-h2': ['curl-gemini-h2'],
};

function agentTable(env) {
  const py = env.PYTHON;
  const node = process.execPath;
  return {
    'node-openai': { cmd: node, args: [join(agentsDir, 'node-openai-agent.mjs')], env: { MODEL: 'gpt-4o-mini' }, model: 'gpt-4o-mini', toolCall: 'read_file' },
    'node-openai-stream': { cmd: node, args: [join(agentsDir, 'node-openai-agent.mjs')], env: { MODEL: 'gpt-4.1-nano', STREAM: '1' }, model: 'gpt-4.1-nano', toolCall: 'read_file' },
    'node-anthropic': { cmd: node, args: [join(agentsDir, 'node-anthropic-agent.mjs')], env: { MODEL: 'claude-haiku-4-5' }, model: 'claude-haiku-4-5', toolCall: 'read_file' },
    'node-mcp-http': { cmd: node, args: [join(agentsDir, 'node-mcp-agent.mjs')], env: {}, mcp: 'lookup_customer' },
    'node-mcp-stdio': { cmd: node, args: [join(agentsDir, 'node-mcp-agent.mjs')], env: { MCP_STDIO: `${node} ${join(agentsDir, 'mcp-stdio-server.mjs')}` }, mcp: 'lookup_customer' },
    'py-openai': { cmd: py, args: [join(agentsDir, 'py_openai_agent.py')], env: { MODEL: 'gpt-4o' }, model: 'gpt-4o', toolCall: 'read_file' },
    'py-anthropic': { cmd: py, args: [join(agentsDir, 'py_anthropic_agent.py')], env: { MODEL: 'claude-sonnet-4-6' }, model: 'claude-sonnet-4-6' },
    'py-mcp-stdio': { cmd: py, args: [join(agentsDir, 'py_mcp_stdio_agent.py')], env: {}, mcp: 'lookup_customer' },
    'curl-gemini-h2': {
      cmd: 'curl',
      args: ['-sS', '--http2', '--cacert', env.CA_FILE, '-H', 'content-type: application/json', '-H', 'x-goog-api-key: AIza-fixture-not-a-real-key',
        '--data-binary', JSON.stringify({ contents: [{ role: 'user', parts: [{ text: FIXTURE.prompt }] }] }),
        `${env.MOCK_URL}/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse`],
      env: {}, model: 'gemini-2.0-flash', curl: true,
    },
  };
}

/** The replay's fixed deployment key: short content (under 64 bytes) is keyed (docs/events.md, "Hashes"). */
const FIXTURE_HMAC_KEY = join(outDir, 'replay.hmac');
/** What the SDK returned, hashed by the documented rule here, independently of the sensor's code. */
const sha = (s) => {
  const b = Buffer.from(s, 'utf8');
  if (b.length >= 64) return `sha256:${createHash('sha256').update(b).digest('hex')}`;
  const key = Buffer.from(readFileSync(FIXTURE_HMAC_KEY, 'utf8').trim(), 'hex');
  return `hmac-sha256:${createHmac('sha256', key).update('content\0').update(b).digest('hex')}`;
};

/** Launcher child: run the named agents one after the other, write what each SDK returned. */
function runAgents(names) {
  const table = agentTable(process.env);
  const results = [];
  for (const name of names) {
    const a = table[name];
    const r = spawnSync(a.cmd, a.args, { env: { ...process.env, ...a.env }, encoding: 'utf8', timeout: 60_000 });
    let out;
    if (a.curl) {
      const text = r.stdout.split(/\r?\n/).filter((l) => l.startsWith('data: '))
        .map((l) => JSON.parse(l.slice(6)).candidates?.[0]?.content?.parts?.map((p) => p.text ?? '').join('') ?? '').join('');
      out = { pid: r.pid, outputs: [text] };
    } else {
      try {
        out = JSON.parse(r.stdout.trim().split('\n').pop());
      } catch {
        out = { error: `exit ${r.status}`, stderr: r.stderr.slice(-2000) };
      }
    }
    results.push({ name, status: r.status, ...out });
  }
  writeFileSync(process.env.RESULT_FILE, JSON.stringify(results));
}

function waitFor(what, fn, ms) {
  const until = Date.now() + ms;
  return new Promise((res, rej) => {
    const poll = () => {
      let v;
      try {
        v = fn();
      } catch (e) {
        return rej(e);
      }
      if (v !== undefined) return res(v);
      if (Date.now() > until) return rej(new Error(`timed out waiting for ${what}`));
      setTimeout(poll, 50);
    };
    poll();
  });
}

/** Read-only opens under these prefixes are the runtimes loading their libraries. */
const LIBRARY_PREFIXES = [join(repo, 'node_modules') + '/', join(repo, '.venv') + '/', '/usr/lib/python3', '/usr/local/lib/python3', '/usr/lib/x86_64-linux-gnu/', '/usr/lib/aarch64-linux-gnu/', '/usr/share/locale/', '/usr/lib/locale/'];
const O_ACCMODE = 3;

/**
 * Keeps fixtures small: drops the records of library loads (read-only opens
 * under LIBRARY_PREFIXES, their fd.io summary and failed import probes). Every
 * record kept is byte for byte what the kernel produced, in its block.
 */
function slimCapture(path, decodeBatch, encodeBlock) {
  const buf = readFileSync(path);
  const headerLen = buf.readUInt32LE(12);
  const parts = [buf.subarray(0, headerLen)];
  const libFds = new Set();
  let pos = headerLen;
  let dropped = 0;
  while (pos < buf.length) {
    const len = buf.readUInt32LE(pos + 4);
    const payload = buf.subarray(pos + 24, pos + 24 + len);
    pos += 24 + len;
    const keep = [];
    for (let o = 0; o < payload.length; ) {
      const size = payload.readUInt32LE(o + 4);
      const rec = payload.subarray(o, o + size);
      o += size;
      const [ev] = decodeBatch(rec);
      let drop = false;
      if (ev?.kind === 'file.open' && (ev.flags & O_ACCMODE) === 0 && LIBRARY_PREFIXES.some((p) => ev.path.startsWith(p))) {
        drop = true;
        if (ev.ret >= 0) libFds.add(`${ev.pid}:${ev.ret}`);
      } else if (ev?.kind === 'fd.io' && libFds.has(`${ev.pid}:${ev.fd}`)) {
        drop = true;
        libFds.delete(`${ev.pid}:${ev.fd}`);
      } else if (ev?.kind === 'file.open' && ev.ret >= 0) libFds.delete(`${ev.pid}:${ev.ret}`);
      if (drop) dropped++;
      else keep.push(rec);
    }
    if (keep.length) parts.push(encodeBlock(Buffer.concat(keep)));
  }
  writeFileSync(path, Buffer.concat(parts));
  return dropped;
}

const exited = (c) => new Promise((r) => (c.exitCode !== null ? r(c.exitCode) : c.on('exit', (code) => r(code))));

function replaySummary(capture, logDir, ctx) {
  const cfg = join(ctx.work, 'replay.yaml');
  writeFileSync(cfg, `observability:\n  httpEnabled: false\nseal:\n  keyDir: ${join(ctx.work, 'keys')}\n  hmacKeyFile: ${FIXTURE_HMAC_KEY}\n`);
  const run = spawnSync(process.execPath, [ctx.cli, 'run', '--replay', capture, '--log-dir', logDir, '--config', cfg], { env: { ...process.env, AGENTRAIL_ROOT: repo }, encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`replay of ${capture} failed: ${run.stderr.slice(-1500)}`);
  return ctx.summarize(ctx.readLogEvents(logDir));
}

async function recordGroup(group, ctx) {
  const names = GROUPS[group];
  const capture = join(outDir, `${group}.arcap`);
  rmSync(capture, { force: true });
  const resultFile = join(ctx.work, `${group}.results.json`);
  // A minimal environment: nothing of the recording machine's own env reaches the agents.
  const env = {
    PATH: process.env.PATH, HOME: ctx.work, LANG: 'C.UTF-8',
    MOCK_URL: ctx.mockUrl, PYTHON: ctx.python, CA_FILE: ctx.ca.caPath, NODE_EXTRA_CA_CERTS: ctx.ca.caPath, SSL_CERT_FILE: ctx.ca.caPath,
    PROMPT: FIXTURE.prompt, CANARY_EMAIL: FIXTURE.email, OPENAI_API_KEY: FIXTURE.openaiKey, ANTHROPIC_API_KEY: FIXTURE.anthropicKey, RESULT_FILE: resultFile,
  };
  const launcher = spawn('/bin/sh', ['-c', 'kill -STOP $$; exec "$@"', 'sh', process.execPath, fileURLToPath(import.meta.url), '--run-agents', names.join(',')], { env, stdio: ['ignore', 'inherit', 'inherit'] });
  await waitFor('launcher stopped', () => (/\) T /.test(readFileSync(`/proc/${launcher.pid}/stat`, 'utf8')) ? true : undefined), 10_000);
  const rec = spawn(process.execPath, [ctx.cli, 'record', '--out', capture, '--pid', String(launcher.pid)], { env: { ...process.env, AGENTRAIL_ROOT: repo }, stdio: ['ignore', 'inherit', 'pipe'] });
  let recErr = '';
  rec.stderr.on('data', (d) => (recErr += d));
  // The recorder creates the file once the probes are attached.
  await waitFor('recorder attached', () => {
    if (rec.exitCode !== null) throw new Error(`record exited ${rec.exitCode}: ${recErr}`);
    return existsSync(capture) ? true : undefined;
  }, 60_000);
  process.kill(launcher.pid, 'SIGCONT');
  const code = await exited(launcher);
  await new Promise((r) => setTimeout(r, 1500)); // fd closes and exits drain
  rec.kill('SIGTERM');
  const recCode = await exited(rec);
  if (code !== 0 || recCode !== 0) throw new Error(`${group}: launcher ${code}, record ${recCode}: ${recErr.slice(-1500)}`);
  slimCapture(capture, ctx.decodeBatch, ctx.encodeBlock);
  const results = JSON.parse(readFileSync(resultFile, 'utf8'));
  for (const r of results) if (r.status !== 0) throw new Error(`${group}/${r.name} failed: ${r.error ?? ''} ${r.stderr ?? ''}`);
  const table = agentTable({ PYTHON: ctx.python, CA_FILE: 'x', MOCK_URL: 'x' });

  // Expected output: what the SDKs returned (hashed), plus the replay's summary.
  const summary = replaySummary(capture, join(ctx.work, `${group}-log`), ctx);
  const expected = {
    capture: `${group}.arcap`,
    recordedWith: 'node scripts/record-fixtures.mjs',
    dataFile: FIXTURE.dataFile,
    agents: results.map((r) => ({
      name: r.name,
      pid: r.pid,
      model: table[r.name].model ?? null,
      toolRequested: table[r.name].toolCall ?? null,
      mcpTool: table[r.name].mcp ?? null,
      finalOutputHash: r.outputs?.length ? sha(r.outputs[r.outputs.length - 1]) : null,
      finalOutputWords: r.outputs?.length ? (r.outputs[r.outputs.length - 1].match(/\S+\s*/g) ?? []).length : null,
      toolReturnHash: r.toolText !== undefined ? sha(r.toolText) : null,
      tools: r.tools ?? null,
    })),
    summary,
  };
  writeFileSync(join(outDir, `${group}.expected.json`), JSON.stringify(expected, null, 1) + '\n');
  console.log(`${group}: ${statSync(capture).size} bytes, ${JSON.stringify(summary.counts)}`);
}

async function main() {
  const args = process.argv.slice(2);
  const expectedOnly = args.includes('--expected-only');
  if (expectedOnly) args.splice(args.indexOf('--expected-only'), 1);
  const di = args.indexOf('--dist');
  const dist = resolve(di >= 0 ? args.splice(di, 2)[1] : process.env.AGENTRAIL_DIST ?? join(repo, 'dist'));
  const groups = args.length ? args : Object.keys(GROUPS);
  for (const g of groups) if (!GROUPS[g]) throw new Error(`unknown group ${g} (${Object.keys(GROUPS).join(', ')})`);
  const imp = (p) => import(pathToFileURL(join(dist, p)).href);
  const { makeTestCa, removeTestCa } = await imp('test/helpers/tls-server.js');
  const { summarize, readLogEvents } = await imp('test/replay/capture-summary.js');
  const { decodeBatch } = await imp('src/decode/decode-batch.js');
  const { encodeBlock } = await imp('src/source/capture-file.js');
  const python = join(repo, '.venv', 'bin', 'python');
  if (!existsSync(python)) throw new Error('no .venv (run .ci/setup.d/20-python.sh)');

  mkdirSync(outDir, { recursive: true });
  mkdirSync(FIXTURE.dataDir, { recursive: true });
  writeFileSync(FIXTURE.dataFile, FIXTURE.fileText);
  const work = mkdtempSync(join(tmpdir(), 'agentrail-rec-'));
  const ca = makeTestCa(['localhost']);
  const script = { toolCall: { name: 'read_file', arguments: { path: FIXTURE.dataFile, max_bytes: 65536 } }, finalText: FIXTURE.finalText, mcpToolText: FIXTURE.mcpToolText };
  const mock = spawn(process.execPath, [join(dist, 'test', 'helpers', 'llm-mock-server.js'), '--cert', ca.certPath, '--key', ca.keyPath, '--script', JSON.stringify(script)], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    let mockOut = '';
    mock.stdout.on('data', (d) => (mockOut += d));
    const port = await waitFor('mock server', () => (mockOut.includes('\n') ? JSON.parse(mockOut.split('\n')[0]).port : undefined), 15_000);
    const ctx = { work, ca, python, mockUrl: `https://localhost:${port}`, cli: join(dist, 'src', 'cli', 'entry.js'), summarize, readLogEvents, decodeBatch, encodeBlock };
    for (const g of groups) {
      if (expectedOnly) {
        const file = join(outDir, `${g}.expected.json`);
        const old = JSON.parse(readFileSync(file, 'utf8'));
        old.summary = replaySummary(join(outDir, `${g}.arcap`), join(work, `${g}-log`), ctx);
        writeFileSync(file, JSON.stringify(old, null, 1) + '\n');
        console.log(`${g}: ${JSON.stringify(old.summary.counts)}`);
      } else await recordGroup(g, ctx);
    }
  } finally {
    mock.kill('SIGKILL');
    removeTestCa(ca);
    rmSync(work, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--run-agents') runAgents(process.argv[3].split(','));
else await main();
