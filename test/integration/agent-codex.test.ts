/**
 * Codex (a stripped static-pie musl Rust binary: rustls 0.23 over aws-lc-rs)
 * under `agentrail run -- codex exec …` against the local HTTPS mock with a
 * throwaway CA. No symbol names its TLS functions: the sensor locates aws-lc's
 * EVP_AEAD_CTX_seal/open (native/src/aead_locator.cc) and reads the TLS
 * plaintext there (bpf/include/tls_aead.bpf.h). The trail must hold the
 * Responses calls with the model id Codex sent, the mock's token counts, the
 * hash of the text Codex printed and the exec_command call the mock asked
 * for; the egress floor must say the plaintext of those connections was seen;
 * no key or prompt text anywhere. Both transports Codex speaks: Responses over
 * a WebSocket (the mock serves it like OpenAI: response.create text frames
 * answered by the SSE events, one per frame, permessage-deflate) and over
 * HTTP/2 + SSE. The locate cache starts empty, so the first request is
 * captured on first sight of the binary.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { requireKernel, requireTool } from '../helpers/privileges.js';
import { runCliAsync } from '../helpers/cli.js';
import { agentBin, agentVersions } from '../helpers/agent-bins.js';
import { checkAgentTrail, setupAgentRun, trailEvents } from '../helpers/agent-trail.js';

const variants = [
  { websockets: false, tls: 'TLSv1.3' },
  { websockets: true, tls: 'TLSv1.3' },
  // TLS 1.2 records carry their content type in the additional data, not in the plaintext.
  { websockets: false, tls: 'TLSv1.2' },
] as const;

for (const { websockets, tls } of variants) {
  const how = `${websockets ? 'Responses over WebSocket' : 'Responses over HTTPS'}, ${tls}`;
  test(`Codex under the real sensor (${how}): model calls, tokens, output hash, exec_command, plaintext seen, no canary`, { timeout: 240_000 }, async (t) => {
    if (!requireKernel(t)) return;
    if (!requireTool(t, agentVersions('codex').length > 0, 'the Codex CLI (.ci/setup.d/60-agents.sh)')) return;
    const { work, ca, mock, tag, cfg, logDir, prompt } = await setupAgentRun(t, 'codex', () => ({ name: 'exec_command', arguments: { cmd: 'cat notes.txt' } }), tls);
    const apiKey = `sk-proj-CANARY${tag}`;
    const home = join(work, 'codex-home');
    mkdirSync(home, { recursive: true });
    const model = 'gpt-5.1-codex';
    // A custom provider pointing at the mock. With supports_websockets Codex speaks the Responses
    // API over a WebSocket (response.create text frames, permessage-deflate), else HTTP/2 + SSE.
    writeFileSync(
      join(home, 'config.toml'),
      [
        `model = "${model}"`,
        'model_provider = "mock"',
        '[model_providers.mock]',
        'name = "mock"',
        `base_url = "https://localhost:${mock.port}/v1"`,
        'env_key = "OPENAI_API_KEY"',
        'wire_api = "responses"',
        `supports_websockets = ${websockets}`,
        '',
      ].join('\n'),
    );
    const r = await runCliAsync(
      ['run', '--log-dir', logDir, '--config', cfg, '--', agentBin('codex'), 'exec', '--skip-git-repo-check', '--dangerously-bypass-approvals-and-sandbox', prompt],
      {
        env: {
          CODEX_HOME: home,
          OPENAI_API_KEY: apiKey,
          CODEX_CA_CERTIFICATE: ca.caPath,
          SSL_CERT_FILE: ca.caPath,
          NO_COLOR: '1',
          // An empty locate cache: the aws-lc functions are found on first sight of the binary.
          AGENTRAIL_TLS_CACHE_DIR: join(work, 'tls-cache'),
        },
        timeoutMs: 200_000,
      },
    );
    assert.equal(r.status, 0, r.stderr.slice(-2000));
    const turns = mock.requests.filter((q) =>
      websockets ? q.method === 'WS' && q.path === '/v1/responses#response.create' : q.method === 'POST' && q.path === '/v1/responses',
    );
    assert.ok(turns.length >= 2, JSON.stringify(mock.requests));
    if (websockets) assert.ok(!mock.requests.some((q) => q.method === 'POST'), `every turn went over the WebSocket: ${JSON.stringify(mock.requests)}`);
    checkAgentTrail(r, logDir, model, apiKey, tag, 'exec_command');
    const events = trailEvents(logDir);
    // Every Responses turn is in the trail, the first one included.
    const models = events.filter((e) => e.type === 'dev.agentrail.model.invocation' && e.data.model_id === model);
    assert.equal(models.length, turns.length, 'one model.invocation per Responses turn');
    // The egress floor agrees: the connections to the mock, with their plaintext seen.
    const egress = events.filter((e) => e.type === 'dev.agentrail.data.access' && e.data.resource_uri === `tls://localhost:${mock.port}`);
    assert.ok(egress.length > 0);
    assert.ok(
      egress.every((e) => e.data.network.plaintext !== 'none'),
      JSON.stringify(egress.map((e) => e.data.network)),
    );
  });
}
