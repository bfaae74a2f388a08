/**
 * Bun `fetch` as an agent's HTTP client (issue 10): the real npm `openai` SDK
 * running under Bun (both pinned Bun versions, non-streamed and streamed),
 * under `agentrail run`, against the local HTTPS mock with a throwaway CA.
 * Bun links BoringSSL without SSL_* symbols; its SSL_write/SSL_read are found
 * by the stripped-BoringSSL locator. The trail must hold the model calls with
 * the model id the agent sent, the mock's token counts, the hash of the text
 * the SDK returned, the tool call the mock asked for, plaintext seen on the
 * connection, and no API key or prompt text.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireKernel, requireTool } from '../helpers/privileges.js';
import { allLogText } from '../helpers/log-text.js';
import { runCliAsync } from '../helpers/cli.js';
import { makeTestCa, removeTestCa } from '../helpers/tls-server.js';
import { startMockServer } from '../helpers/llm-mock-server.js';
import { agentBin, agentVersions } from '../helpers/agent-bins.js';
import { expectedContentHash } from '../helpers/expected-hash.js';
import { repoRoot } from '../../src/paths.js';

const finalText = 'The notes mention one meeting.';
const cases = [
  { version: '1.4.5', stream: false },
  { version: '1.4.2', stream: true },
];

for (const { version, stream } of cases) {
  test(`Bun ${version} fetch (npm openai SDK${stream ? ', streamed' : ''}) under the real sensor: model calls, tokens, output hash, tool call, plaintext full, no canary`, { timeout: 240_000 }, async (t) => {
    if (!requireKernel(t)) return;
    if (!requireTool(t, agentVersions('bun').includes(version), `bun ${version} (.ci/setup.d/60-agents.sh)`)) return;
    const work = mkdtempSync(join(tmpdir(), `ar-bun-agent-${version}-`));
    const ca = makeTestCa(['localhost']);
    const dataFile = join(work, 'notes.txt');
    writeFileSync(dataFile, 'meeting notes\n');
    const mock = await startMockServer({ cert: ca.certPath, key: ca.keyPath, script: { toolCall: { name: 'read_file', arguments: { path: dataFile } }, finalText } });
    t.after(async () => {
      await mock.close();
      removeTestCa(ca);
      rmSync(work, { recursive: true, force: true });
    });
    const tag = randomBytes(6).toString('hex');
    const apiKey = `sk-proj-CANARY${tag}`;
    const keyDir = join(work, 'keys');
    const cfg = join(work, 'c.yaml');
    writeFileSync(cfg, `observability:\n  httpPort: 0\nseal:\n  keyDir: ${keyDir}\n`);
    const logDir = join(work, 'log');
    const model = 'gpt-4.1-mini';
    const r = await runCliAsync(['run', '--log-dir', logDir, '--config', cfg, '--', agentBin('bun', version), join(repoRoot, 'test', 'integration', 'agents', 'node-openai-agent.mjs')], {
      env: { OPENAI_API_KEY: apiKey, MOCK_URL: `https://localhost:${mock.port}`, NODE_EXTRA_CA_CERTS: ca.caPath, PROMPT: `Read ${dataFile} and summarize it. CANARYPROMPT${tag}`, MODEL: model, STREAM: stream ? '1' : '0' },
      timeoutMs: 200_000,
    });
    assert.equal(r.status, 0, r.stderr.slice(-2000));
    const out = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { outputs: string[] };
    assert.equal(out.outputs.at(-1), finalText, 'the SDK under Bun got the final answer');
    assert.equal(mock.requests.filter((q) => q.path === '/v1/chat/completions').length, 2);

    const events = readdirSync(join(logDir, 'segments'))
      .flatMap((f) => readFileSync(join(logDir, 'segments', f), 'utf8').trim().split('\n'))
      .map((l) => JSON.parse(l) as { type: string; data: Record<string, any> });
    const models = events.filter((e) => e.type === 'dev.agentrail.model.invocation' && e.data.model_id === model);
    assert.equal(models.length, 2, `model calls seen: ${models.length}`);
    assert.ok(models.some((m) => (m.data.tools_requested as Array<{ name: string }>).some((x) => x.name === 'read_file')), 'the tool call the mock asked for');
    const answer = models.find((m) => m.data.output_hash === expectedContentHash(out.outputs.at(-1)!, keyDir));
    assert.ok(answer, 'a model call whose output hash is the hash of the text the SDK returned');
    assert.equal(answer.data.output_token_count, finalText.split(' ').length, 'the mock counts one output token per word');
    assert.ok(answer.data.prompt_token_count > 0);
    const egress = events.filter((e) => e.type === 'dev.agentrail.data.access' && e.data.resource_uri === `tls://localhost:${mock.port}`);
    assert.ok(egress.some((e) => e.data.network.plaintext === 'full' && e.data.bytes_written > 0), JSON.stringify(egress.map((e) => e.data.network)));
    const trail = allLogText(logDir);
    assert.ok(!(trail + r.stderr).includes(apiKey), 'API key leaked');
    assert.ok(!trail.includes(`CANARYPROMPT${tag}`), 'prompt text leaked into the trail');
  });
}
