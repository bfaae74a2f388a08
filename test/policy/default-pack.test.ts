import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventTypes, type CloudEvent } from '../../src/contracts/envelope.js';
import { createPolicyStage } from '../../src/policy/stage.js';
import { d, exec, exit, fdio, fork, harness, httpExchange, llmExchange, open } from '../event/scenario.js';
import { exfilSession, PII } from './sessions.js';

/**
 * The default pack (policy/default-rules.yaml) over events built by the real
 * event builder from synthetic kernel records and exchanges: one test that
 * fires and one that does not, per rule.
 */

function run(build: (h: ReturnType<typeof harness>) => void, extra: Parameters<typeof harness>[0] = {}) {
  const h = harness(extra);
  build(h);
  h.b.flush();
  const stage = createPolicyStage({ config: { watchRules: false }, source: 'agentrail://test-node/0' });
  const out: CloudEvent[] = [];
  for (const e of h.events) out.push(...stage.evaluate(e));
  stage.close();
  const decisions = out.filter((e) => e.type === EventTypes.policyDecision).map(d);
  return { out, decisions, fired: (rule: string) => decisions.filter((x) => x.rule_fired === rule) };
}

test('AR-EXFIL-001 fires a flag on the egress after a PII/secret read, linked to the model call that asked for the upload', () => {
  const r = run(({ b }) => exfilSession(b, PII, { addr: '203.0.113.7', port: 443 }));
  const f = r.fired('AR-EXFIL-001');
  assert.equal(f.length, 1, JSON.stringify(r.decisions.map((x) => x.rule_fired)));
  const egress = r.out.find((e) => e.id === f[0]!.evaluated_event_id)!;
  assert.equal(egress.type, EventTypes.dataAccess);
  assert.equal(d(egress).network.remote_addr, '203.0.113.7');
  assert.equal(f[0]!.decision, 'flag');
  assert.equal(f[0]!.enforcement, 'observe');
  assert.equal(f[0]!.severity, 'high');
  assert.ok(f[0]!.references.includes('AML.T0025'));
  const asker = r.out.find((e) => e.type === EventTypes.modelInvocation && d(e).tools_requested.some((t: { name: string }) => t.name === 'http_post'))!;
  assert.ok(f[0]!.related_event_ids.includes(asker.id), 'the decision names the model call that asked for the upload');
  assert.equal(f[0]!.cause.event_id, egress.id);
});

test('AR-EXFIL-001 does not fire without a sensitive read, nor for egress to an allow-listed model endpoint', () => {
  assert.equal(run(({ b }) => exfilSession(b, 'nothing sensitive here', { addr: '203.0.113.7', port: 443 })).fired('AR-EXFIL-001').length, 0);
  const h = harness();
  exfilSession(h.b, PII, { addr: '203.0.113.7', port: 443 });
  h.b.flush();
  const stage = createPolicyStage({ config: { watchRules: false, modelEndpoints: ['203.0.113.7'] }, source: 'agentrail://t/0' });
  const decisions = h.events.flatMap((e) => stage.evaluate(e)).filter((e) => e.type === EventTypes.policyDecision);
  stage.close();
  assert.equal(decisions.filter((e) => d(e).rule_fired === 'AR-EXFIL-001').length, 0);
});

test('AR-TOOL-001: a requested tool the request did not offer fires and the model call lists the intervention', () => {
  const r = run(({ b }) => {
    b.onRaw(exec(100, 1, 1, '/usr/bin/node', ['node', 'agent.js']));
    b.onExchange(llmExchange(100, 10, 20, { toolsOffered: ['read_file'], toolsRequested: [{ name: 'delete_repo', callId: 'c1', arguments: { name: 'x' } }] }));
  });
  const f = r.fired('AR-TOOL-001');
  assert.equal(f.length, 1);
  const model = r.out.find((e) => e.id === f[0]!.evaluated_event_id)!;
  assert.deepEqual(d(model).policy_interventions, [{ policy_id: 'agentrail.rules', decision: 'flag', event_id: f[0]!.event_id }]);
  const i = r.out.indexOf(model);
  assert.equal(r.out[i + 1]!.id, f[0]!.event_id, 'the decision follows the event it concerns');
});

test('AR-TOOL-001 does not fire for an offered tool', () => {
  const r = run(({ b }) => {
    b.onRaw(exec(100, 1, 1, '/usr/bin/node', ['node', 'agent.js']));
    b.onExchange(llmExchange(100, 10, 20, { toolsOffered: ['read_file'], toolsRequested: [{ name: 'read_file', callId: 'c1', arguments: { path: '/a' } }] }));
  });
  assert.equal(r.fired('AR-TOOL-001').length, 0);
  assert.deepEqual(d(r.out.find((e) => e.type === EventTypes.modelInvocation)).policy_interventions, []);
});

function twoCalls(args2: Record<string, unknown>) {
  return run(({ b }) => {
    b.onRaw(exec(100, 1, 1, '/usr/bin/node', ['node', 'agent.js']));
    b.onExchange(llmExchange(100, 10, 20, { toolsOffered: ['read_file'], toolsRequested: [{ name: 'read_file', callId: 'c1', arguments: { path: '/a' } }] }));
    b.onExchange(llmExchange(100, 50, 20, { toolsOffered: ['read_file'], toolsRequested: [{ name: 'read_file', callId: 'c2', arguments: args2 }] }));
  });
}

test('AR-TOOL-002: an argument shape never seen for the tool fires; the same shape again does not', () => {
  assert.equal(twoCalls({ path: '/b', exfil_url: 'https://x.example' }).fired('AR-TOOL-002').length, 1);
  assert.equal(twoCalls({ path: '/b' }).fired('AR-TOOL-002').length, 0);
});

function toServer(authority: string) {
  return run(({ b }) => {
    b.onRaw(exec(100, 1, 1, '/usr/bin/node', ['node', 'agent.js']));
    const x = llmExchange(100, 10, 20, { inputTexts: [{ role: 'user', text: PII }] });
    x.request!.authority = authority;
    b.onExchange(x);
  });
}

test('AR-SHADOW-001: tagged data to a model endpoint outside the allow list fires; to an allow-listed one it does not', () => {
  const f = toServer('llm.shadow-ai.example:8443').fired('AR-SHADOW-001');
  assert.equal(f.length, 1);
  assert.equal(toServer('api.openai.com').fired('AR-SHADOW-001').length, 0);
});

function execAfterModel(binary: string) {
  return run(({ b }) => {
    b.onRaw(exec(100, 1, 1, '/usr/bin/node', ['node', 'agent.js']));
    b.onExchange(llmExchange(100, 10, 20, { toolsOffered: ['run'], toolsRequested: [{ name: 'run', callId: 'c1', arguments: { cmd: 'x' } }] }));
    b.onRaw(fork(100, 101, 40));
    b.onRaw(exec(101, 100, 41, binary, [binary, '-c', 'id']));
    b.onRaw(exit(101, 45, 0));
  });
}

test('AR-EXEC-001: a shell exec by the agent fires; ls does not; the agent launch itself does not', () => {
  const f = execAfterModel('/bin/bash').fired('AR-EXEC-001');
  assert.equal(f.length, 1);
  assert.equal(execAfterModel('/bin/ls').fired('AR-EXEC-001').length, 0);
  assert.equal(execAfterModel('/bin/ls').decisions.filter((x) => x.rule_fired === 'AR-EXEC-001').length, 0, 'node agent.js before any model call is not flagged');
});

test('AR-CRED-001: a credential outside its granted scope fires; the process credential within scope does not', async () => {
  const { SignJWT } = await import('jose');
  const jwt = await new SignJWT({ scope: 'repo:read repo:write' }).setProtectedHeader({ alg: 'HS256', kid: 'k1' }).setSubject('agent-7').sign(new TextEncoder().encode('0123456789abcdef0123456789abcdef'));
  const r = run(
    ({ b }) => {
      b.onRaw(exec(600, 1, 1, '/usr/bin/node', ['node', 'agent.js'], 1001));
      b.onExchange(httpExchange(600, 10, 5, { method: 'GET', path: '/repos', authority: 'git.example.com:443', headers: [['authorization', `Bearer ${jwt}`]] }, { status: 200 }));
    },
    { grantedScopes: { 'host:*/node': ['repo:read', 'uid:*', 'gid:*'] } },
  );
  const f = r.fired('AR-CRED-001');
  assert.equal(f.length, 1);
  assert.equal(d(r.out.find((e) => e.id === f[0]!.evaluated_event_id)).credential_type, 'jwt');
});

function readPath(path: string) {
  return run(({ b }) => {
    b.onRaw(exec(100, 1, 1, '/usr/bin/node', ['node', 'agent.js']));
    b.onRaw(open(100, 10, path, 21));
    b.onRaw(fdio(100, 12, 21, 200, 0));
    b.onRaw(exit(100, 20, 0));
  });
}

test('AR-CRED-002: reading credential stores fires; an ordinary file does not', () => {
  for (const p of ['/home/u/.aws/credentials', '/root/.kube/config', '/home/u/.ssh/id_ed25519', '/var/run/secrets/kubernetes.io/serviceaccount/token']) {
    assert.equal(readPath(p).fired('AR-CRED-002').length, 1, p);
  }
  assert.equal(readPath('/home/u/notes.txt').fired('AR-CRED-002').length, 0);
  assert.equal(readPath('/home/u/.ssh/known_hosts').fired('AR-CRED-002').length, 0);
});

test('provider guardrail verdicts (Anthropic refusal, OpenAI content_filter, Bedrock guardrail_intervened) become decisions with the provider as source', () => {
  for (const [provider, reason] of [['anthropic', 'refusal'], ['openai', 'content_filter'], ['bedrock', 'guardrail_intervened']] as const) {
    const r = run(({ b }) => {
      b.onRaw(exec(100, 1, 1, '/usr/bin/node', ['node', 'agent.js']));
      b.onExchange(llmExchange(100, 10, 20, { provider, finishReason: reason }));
    });
    const v = r.decisions.filter((x) => x.decision_source === `provider:${provider}`);
    assert.equal(v.length, 1, `${provider} ${reason}`);
    assert.equal(v[0]!.rule_fired, reason);
    assert.equal(v[0]!.decision, 'deny');
    const model = r.out.find((e) => e.type === EventTypes.modelInvocation)!;
    assert.equal(v[0]!.evaluated_event_id, model.id);
    assert.equal(d(model).policy_interventions[0].event_id, v[0]!.event_id);
  }
  const none = run(({ b }) => b.onExchange(llmExchange(100, 10, 20, { finishReason: 'stop' })));
  assert.equal(none.decisions.length, 0);
});

test('OpenAI moderation results (recorded response format) become a provider flag on the moderation call', async () => {
  const { decodeLlm } = await import('../../src/protocol/llm/index.js');
  const { http } = await import('../event/scenario.js');
  // The documented /v1/moderations response shape (omni-moderation).
  const verdict = (flagged: boolean) =>
    JSON.stringify({ id: 'modr-123', model: 'omni-moderation-latest', results: [{ flagged, categories: { violence: flagged, harassment: false }, category_scores: { violence: flagged ? 0.91 : 0.01, harassment: 0.0 } }] });
  const decisionsFor = (flagged: boolean) =>
    run(({ b }) => {
      b.onRaw(exec(100, 1, 1, '/usr/bin/node', ['node', 'agent.js']));
      const h = http({ path: '/v1/moderations', body: JSON.stringify({ model: 'omni-moderation-latest', input: 'some user text' }) }, { status: 200, body: verdict(flagged) }, 10, 5);
      const llm = decodeLlm(h.request, h.response)!;
      assert.equal(llm.operation, 'moderations');
      const x = llmExchange(100, 10, 5, llm);
      b.onExchange({ ...x, request: h.request, response: h.response });
    }).decisions;
  const f = decisionsFor(true);
  assert.equal(f.length, 1);
  assert.equal(f[0]!.decision_source, 'provider:openai');
  assert.equal(f[0]!.rule_fired, 'moderation_flagged');
  assert.equal(f[0]!.decision, 'flag');
  assert.equal(f[0]!.enforcement, 'observe');
  assert.equal(decisionsFor(false).length, 0);
});
