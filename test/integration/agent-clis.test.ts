/**
 * The real agent CLIs (installed by .ci/setup.d/60-agents.sh) run under
 * `agentrail run -- <agent>` against the local HTTPS mock with a throwaway CA
 * and a canary API key. The trail must hold the model call with the model id
 * the agent sent, the mock's token counts, the hash of the text the agent
 * itself printed, the tool call the mock asked for, and no key or prompt text.
 * Here: Gemini CLI (Node, OpenSSL), the Python openai-agents framework and Claude Code (stripped
 * BoringSSL); Codex (stripped aws-lc) is in agent-codex.test.ts. Shared setup and checks: helpers/agent-trail.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { requireKernel, requireTool } from '../helpers/privileges.js';
import { runCliAsync } from '../helpers/cli.js';
import { agentBin, agentVersions } from '../helpers/agent-bins.js';
import { checkAgentTrail as checkTrail, setupAgentRun as setup, trailEvents } from '../helpers/agent-trail.js';
import { repoRoot } from '../../src/paths.js';

test('Gemini CLI under the real sensor: model call, tokens, output hash, tool call, no canary', { timeout: 240_000 }, async (t) => {
  if (!requireKernel(t)) return;
  if (!requireTool(t, agentVersions('gemini').length > 0, 'the Gemini CLI (.ci/setup.d/60-agents.sh)')) return;
  const { work, ca, mock, tag, cfg, logDir, prompt } = await setup(t, 'gemini');
  const apiKey = `AIzaCANARY${tag}key`;
  const home = join(work, 'home');
  mkdirSync(join(home, '.gemini'), { recursive: true });
  // Headless API-key auth: without a selected auth type the CLI exits 41.
  writeFileSync(join(home, '.gemini', 'settings.json'), JSON.stringify({ security: { auth: { selectedType: 'gemini-api-key' } } }));
  const model = 'gemini-2.5-flash';
  const r = await runCliAsync(['run', '--log-dir', logDir, '--config', cfg, '--', agentBin('gemini'), '-p', prompt, '-m', model, '--yolo'], {
    env: {
      HOME: home,
      GEMINI_API_KEY: apiKey,
      GOOGLE_GEMINI_BASE_URL: `https://localhost:${mock.port}`,
      NODE_EXTRA_CA_CERTS: ca.caPath,
      GEMINI_CLI_TRUST_WORKSPACE: 'true',
      GEMINI_CLI_NO_RELAUNCH: '1',
      NO_COLOR: '1',
    },
    timeoutMs: 200_000,
  });
  assert.equal(r.status, 0, r.stderr.slice(-2000));
  assert.ok(mock.requests.some((q) => q.path.endsWith(`models/${model}:streamGenerateContent`)), JSON.stringify(mock.requests));
  checkTrail(r, logDir, model, apiKey, tag);
});

test('openai-agents (Python) under the real sensor: Responses call, tokens, output hash, tool call, no canary', { timeout: 240_000 }, async (t) => {
  if (!requireKernel(t)) return;
  const python = join(repoRoot, '.venv', 'bin', 'python');
  const hasAgents = existsSync(python) && spawnSync(python, ['-c', 'import agents']).status === 0;
  if (!requireTool(t, hasAgents, 'the project venv with openai-agents (.ci/setup.d/60-agents.sh)')) return;
  const { ca, mock, tag, cfg, logDir, prompt } = await setup(t, 'oai-agents');
  const apiKey = `sk-proj-CANARY${tag}`;
  const model = 'gpt-4.1-mini';
  const r = await runCliAsync(['run', '--log-dir', logDir, '--config', cfg, '--', python, join(repoRoot, 'test', 'integration', 'agents', 'py_openai_agents.py')], {
    env: { OPENAI_API_KEY: apiKey, MOCK_URL: `https://localhost:${mock.port}`, SSL_CERT_FILE: ca.caPath, PROMPT: prompt, MODEL: model },
    timeoutMs: 200_000,
  });
  assert.equal(r.status, 0, r.stderr.slice(-2000));
  assert.ok(mock.requests.some((q) => q.path === '/v1/responses'), JSON.stringify(mock.requests));
  checkTrail(r, logDir, model, apiKey, tag);
});

/**
 * Claude Code (a Bun executable with BoringSSL linked in, no SSL_* symbols): its TLS functions are
 * located in the stripped binary (native/src/boringssl_locator.cc), so its model calls are in the
 * trail like any SDK's. Both pinned versions, to show the method does not hang on one build.
 */
for (const version of ['2.1.332', '2.1.329']) {
  test(`Claude Code ${version} under the real sensor: model calls, tokens, output hash, tool call, plaintext seen, no canary`, { timeout: 240_000 }, async (t) => {
    if (!requireKernel(t)) return;
    if (!requireTool(t, agentVersions('claude').includes(version), `Claude Code ${version} (.ci/setup.d/60-agents.sh)`)) return;
    const { work, ca, mock, tag, cfg, logDir, prompt } = await setup(t, `claude-${version}`);
    const apiKey = `sk-ant-api03-CANARY${tag}`;
    const home = join(work, 'home');
    mkdirSync(home, { recursive: true });
    const model = 'claude-haiku-4-5';
    const r = await runCliAsync(['run', '--log-dir', logDir, '--config', cfg, '--', agentBin('claude', version), '-p', prompt, '--model', model], {
      env: {
        HOME: home,
        ANTHROPIC_API_KEY: apiKey,
        ANTHROPIC_BASE_URL: `https://localhost:${mock.port}`,
        NODE_EXTRA_CA_CERTS: ca.caPath,
        DISABLE_AUTOUPDATER: '1',
        CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
      },
      timeoutMs: 200_000,
    });
    assert.equal(r.status, 0, r.stderr.slice(-2000));
    assert.ok(mock.requests.some((q) => q.path === '/v1/messages'), JSON.stringify(mock.requests));
    checkTrail(r, logDir, model, apiKey, tag);
    // The egress floor agrees: the connection to the model endpoint, with its plaintext seen.
    const egress = trailEvents(logDir).filter((e) => e.type === 'dev.agentrail.data.access' && e.data.resource_uri === `tls://localhost:${mock.port}`);
    assert.ok(egress.some((e) => e.data.network.plaintext === 'full' && e.data.bytes_written > 0), JSON.stringify(egress.map((e) => e.data.network)));
  });
}
