/**
 * What the agent-CLI tests (agent-clis.test.ts, agent-codex.test.ts) share:
 * a work dir with a notes file, a throwaway CA and the LLM mock scripted to
 * ask for one tool call then answer `finalText`; and the trail checks (the
 * model call with the model id the agent sent, the mock's token counts, the
 * hash of the text the agent printed, the tool call, no key or prompt text).
 * `outputHash` is the one place the expected output hash is computed.
 */
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { allLogText } from './log-text.js';
import { makeTestCa, removeTestCa } from './tls-server.js';
import { startMockServer } from './llm-mock-server.js';
import { expectedContentHash } from './expected-hash.js';

/** The output hash the sensor must write for text `s`: keyed under 64 bytes (test/helpers/expected-hash.ts), with the run's seal.keyDir. */
export const outputHash = (s: string, keyDir: string) => expectedContentHash(s, keyDir);

export const finalText = 'The notes mention one meeting.';

export type TrailEvent = { type: string; data: Record<string, any> };

/** A work dir, a throwaway CA, the mock (asking for `toolCall`, then answering finalText), a canary tag. */
export async function setupAgentRun(
  t: TestContext,
  name: string,
  toolCall?: (dataFile: string) => { name: string; arguments: Record<string, unknown> },
  maxVersion?: 'TLSv1.2' | 'TLSv1.3',
) {
  const work = mkdtempSync(join(tmpdir(), `agentrail-${name}-`));
  const ca = makeTestCa(['localhost']);
  const dataFile = join(work, 'notes.txt');
  writeFileSync(dataFile, 'meeting notes\n');
  const call = toolCall ? toolCall(dataFile) : { name: 'read_file', arguments: { file_path: dataFile } };
  const mock = await startMockServer({ cert: ca.certPath, key: ca.keyPath, script: { toolCall: call, finalText }, ...(maxVersion ? { maxVersion } : {}) });
  t.after(async () => {
    await mock.close();
    removeTestCa(ca);
    rmSync(work, { recursive: true, force: true });
  });
  const tag = randomBytes(6).toString('hex');
  const cfg = join(work, 'c.yaml');
  // Its own seal.keyDir beside the log: the HMAC key of short output hashes.
  writeFileSync(cfg, `observability:\n  httpPort: 0\nseal:\n  keyDir: ${join(work, 'keys')}\n`);
  return { work, ca, dataFile, mock, tag, cfg, logDir: join(work, 'log'), prompt: `Read ${dataFile} and summarize it. CANARYPROMPT${tag}` };
}

export function trailEvents(logDir: string): TrailEvent[] {
  return readdirSync(join(logDir, 'segments'))
    .flatMap((f) => readFileSync(join(logDir, 'segments', f), 'utf8').trim().split('\n'))
    .map((l) => JSON.parse(l) as TrailEvent);
}

/** The agent's own printed answer, and what the trail says of its model calls. */
export function checkAgentTrail(r: { stdout: string; stderr: string }, logDir: string, model: string, apiKey: string, tag: string, toolName = 'read_file'): void {
  const printed = r.stdout.trimEnd().split('\n').at(-1)!;
  assert.equal(printed, finalText);
  const models = trailEvents(logDir).filter((e) => e.type === 'dev.agentrail.model.invocation' && e.data.model_id === model);
  assert.ok(models.length >= 2, `model calls seen: ${models.length}`);
  assert.ok(models.some((m) => (m.data.tools_requested as Array<{ name: string }>).some((x) => x.name === toolName)), 'the tool call the mock asked for');
  const answer = models.find((m) => m.data.output_hash === outputHash(printed, join(logDir, '..', 'keys')) /* seal.keyDir beside the log (setupAgentRun) */);
  assert.ok(answer, 'a model call whose output hash is the hash of the printed text');
  // The mock counts one output token per word of its answer.
  assert.equal(answer.data.output_token_count, finalText.split(' ').length);
  assert.ok(answer.data.prompt_token_count > 0);
  const trail = allLogText(logDir);
  assert.ok(!(trail + r.stderr).includes(apiKey), 'API key leaked');
  assert.ok(!trail.includes(`CANARYPROMPT${tag}`), 'prompt text leaked into the trail');
}
