import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventTypes, type CloudEvent } from '../../src/contracts/envelope.js';
import { AgentrailError } from '../../src/errors.js';
import { stageErrors } from '../../src/observability/metrics.js';
import { PolicyRuleStore } from '../../src/policy/rule-store.js';
import { createPolicyStage } from '../../src/policy/stage.js';
import { d, exec, harness, llmExchange } from '../event/scenario.js';

const GOOD = `version: 1
rules:
  - id: R1
    description: any model call
    severity: low
    decision: flag
    references: [LLM10:2025]
    on: [model.invocation]
    condition: data.provider == 'openai'
`;

function tmpRules(text: string): string {
  const f = join(mkdtempSync(join(tmpdir(), 'ar-policy-')), 'rules.yaml');
  writeFileSync(f, text);
  return f;
}

/** A sequence rule: an OpenAI call, then an Anthropic call of the same session within `within`. */
function openaiThenAnthropic(id: string, within: string): string {
  return tmpRules(`version: 1
rules:
  - id: ${id}
    description: openai then anthropic within ${within}
    severity: low
    decision: flag
    sequence:
      within: ${within}
      steps:
        - { on: [model.invocation], condition: "data.provider == 'openai'" }
        - { on: [model.invocation], condition: "data.provider == 'anthropic'" }
`);
}

async function counter(reason: string): Promise<number> {
  return (await stageErrors.get()).values.find((v) => v.labels.stage === 'policy' && v.labels.reason === reason)?.value ?? 0;
}

function modelEvents(): CloudEvent[] {
  const { b, events } = harness();
  b.onRaw(exec(100, 1, 1, '/usr/bin/node', ['node', 'agent.js']));
  b.onExchange(llmExchange(100, 10, 20, {}));
  b.flush();
  return events;
}

function codeOf(text: string): string {
  try {
    new PolicyRuleStore(tmpRules(text));
    return 'loaded';
  } catch (e) {
    assert.ok(e instanceof AgentrailError);
    assert.equal(e.oneLine().includes('\n'), false, 'one line');
    return e.code;
  }
}

test('bad rule files are rejected at load with a stable code naming the problem', () => {
  assert.equal(codeOf(GOOD), 'loaded');
  assert.equal(codeOf('version: 1\nrules: [ {id: R1'), 'POLICY_RULES_SYNTAX');
  assert.equal(codeOf(GOOD.replace('severity: low', 'severity: low\n    colour: red')), 'POLICY_RULES_INVALID');
  assert.equal(codeOf(GOOD.replace('decision: flag', 'decision: block')), 'POLICY_RULES_INVALID');
  assert.equal(codeOf(GOOD.replace('[LLM10:2025]', '[T1234]')), 'POLICY_RULES_INVALID');
  assert.equal(codeOf(GOOD.replace("data.provider == 'openai'", "data.provider == 'openai' &&")), 'POLICY_RULES_CEL');
  assert.equal(codeOf(GOOD + GOOD.split('rules:\n')[1]), 'POLICY_RULES_INVALID', 'duplicate id');
  assert.throws(() => new PolicyRuleStore('/nonexistent/rules.yaml'), (e: AgentrailError) => e.code === 'POLICY_RULES_READ');
});

test('a condition that throws at runtime is a counted non-match: the event is still returned for sealing', async () => {
  // data.tools_requested[5] does not exist on this event: an index error at runtime, not at compile time.
  const f = tmpRules(GOOD.replace("data.provider == 'openai'", "data.tools_requested[5].name == 'x'"));
  const stage = createPolicyStage({ config: { rulesFile: f, watchRules: false }, source: 'agentrail://t/0' });
  const before = await counter('cel_runtime');
  const ev = modelEvents().find((e) => e.type === EventTypes.modelInvocation)!;
  const out = stage.evaluate(ev);
  stage.close();
  assert.equal(out.length, 1);
  assert.equal(out[0]!.id, ev.id);
  assert.equal((await counter('cel_runtime')) - before, 1);
});

test('rules reload without restart; a bad file keeps the previous rules and is counted', async () => {
  const f = tmpRules(GOOD);
  const stage = createPolicyStage({ config: { rulesFile: f, watchRules: true }, source: 'agentrail://t/0' });
  const store = new PolicyRuleStore(f).watch();
  const reloaded = () => new Promise<boolean>((res) => store.onReload((ok) => res(ok)));
  const ev = () => modelEvents().find((e) => e.type === EventTypes.modelInvocation)!;
  const fired = () => stage.evaluate(ev()).slice(1).map((e) => d(e).rule_fired as string);
  // The watchers do not hold the process open (a sensor exits on its own terms): this test does.
  const keepAlive = setInterval(() => undefined, 1000);
  try {
    assert.deepEqual(fired(), ['R1']);
    const before = await counter('rules_invalid');
    let done = reloaded();
    // Replace by rename, as editors and ConfigMap updates do.
    writeFileSync(f + '.new', GOOD.replace('id: R1', 'id: R2'));
    renameSync(f + '.new', f);
    assert.equal(await done, true);
    await new Promise((r) => setTimeout(r, 100)); // the stage's own watcher saw the same change
    assert.deepEqual(fired(), ['R2']);
    done = reloaded();
    writeFileSync(f, 'version: 1\nrules: [ {id: ');
    assert.equal(await done, false);
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(fired(), ['R2'], 'the old rules stay');
    assert.ok((await counter('rules_invalid')) - before >= 2, 'both watchers counted the rejected file');
  } finally {
    clearInterval(keepAlive);
    store.close();
    stage.close();
  }
});

test('sequence rules: ordered, within the window, per session', async () => {
  const f = openaiThenAnthropic('S1', '1s');
  const calls = (gapMs: number, order: Array<'openai' | 'anthropic'>) => {
    const { b, events } = harness();
    b.onRaw(exec(100, 1, 1, '/usr/bin/node', ['node', 'agent.js']));
    order.forEach((p, i) => b.onExchange(llmExchange(100, 10 + i * gapMs, 5, { provider: p })));
    b.flush();
    const stage = createPolicyStage({ config: { rulesFile: f, watchRules: false }, source: 'agentrail://t/0' });
    const n = events.flatMap((e) => stage.evaluate(e)).filter((e) => e.type === EventTypes.policyDecision).length;
    stage.close();
    return n;
  };
  assert.equal(calls(100, ['openai', 'anthropic']), 1);
  assert.equal(calls(100, ['anthropic', 'openai']), 0, 'order matters');
  assert.equal(calls(2000, ['openai', 'anthropic']), 0, 'outside the window');
});

test('sequence state is bounded: beyond the limit the least recent match is evicted and counted', async () => {
  const { SequenceState } = await import('../../src/policy/sequence-state.js');
  const { drops } = await import('../../src/observability/metrics.js');
  const evicted = async () => (await drops.get()).values.find((v) => v.labels.stage === 'policy' && v.labels.reason === 'sequence_state_evicted')?.value ?? 0;
  const before = await evicted();
  const s = new SequenceState(2);
  s.set('a', { step: 1, startMs: 0, eventIds: ['1'] });
  s.set('b', { step: 1, startMs: 0, eventIds: ['2'] });
  s.set('a', { step: 2, startMs: 0, eventIds: ['1', '3'] }); // touching a makes b the least recent
  s.set('c', { step: 1, startMs: 0, eventIds: ['4'] });
  assert.equal(s.size, 2);
  assert.equal(s.get('b'), undefined);
  assert.equal(s.get('a')!.step, 2);
  assert.equal((await evicted()) - before, 1);
});

test('an allow rule firing on the same event marks the other decisions overridden', () => {
  const allow = `  - id: A1
    description: exception for this provider
    severity: low
    decision: allow
    on: [model.invocation]
    condition: data.provider == 'openai'
`;
  const stage = createPolicyStage({ config: { rulesFile: tmpRules(GOOD + allow), watchRules: false }, source: 'agentrail://t/0' });
  const ds = stage.evaluate(modelEvents().find((e) => e.type === EventTypes.modelInvocation)!).slice(1).map(d);
  stage.close();
  assert.deepEqual(ds.map((x) => [x.rule_fired, x.decision, x.overridden]), [
    ['R1', 'flag', true],
    ['A1', 'allow', false],
  ]);
});

test('sequence windows run on event time: a tick at wall-clock now does not expire a replay\'s open match', () => {
  const f = openaiThenAnthropic('S2', '1m');
  // The harness's events are dated 2026-09 (EPOCH_NS): older or newer than now, never now.
  const { b, events } = harness();
  b.onRaw(exec(100, 1, 1, '/usr/bin/node', ['node', 'agent.js']));
  b.onExchange(llmExchange(100, 10, 5, { provider: 'openai' }));
  b.onExchange(llmExchange(100, 20_000, 5, { provider: 'anthropic' }));
  b.flush();
  const stage = createPolicyStage({ config: { rulesFile: f, watchRules: false }, source: 'agentrail://t/0' });
  const second = events.filter((e) => e.type === EventTypes.modelInvocation).at(-1)!;
  const out: CloudEvent[] = [];
  for (const e of events) {
    if (e === second) stage.tick(Date.now() + 3_600_000);
    out.push(...stage.evaluate(e));
  }
  stage.close();
  assert.deepEqual(out.filter((e) => e.type === EventTypes.policyDecision).map((e) => d(e).rule_fired), ['S2']);
});
