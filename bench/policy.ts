/**
 * Policy evaluation cost per event on one core: the default pack, and 200
 * generated rules spread over the event types, side by side in one run, against
 * the goal of ≤ 2 µs per event per 20 rules.
 *   npm run build:ts && node dist/bench/policy.js [rounds]
 * The events are built by the real event builder (test/event/scenario.ts reference session).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CloudEvent } from '../src/contracts/envelope.js';
import { createPolicyStage } from '../src/policy/stage.js';
import { harness, referenceSession } from '../test/event/scenario.js';

const ROUNDS = Number(process.argv[2] ?? 20000);

function events(): CloudEvent[] {
  const { b, events } = harness();
  referenceSession(b, { prompt: 'mail jane.roe@example.com', arg: 'v', fileText: 'AKIAIOSFODNN7EXAMPLE', key: 'sk-proj-Zz9LmT2vR7wK4pN8sB3yH6dF1gJ5cZ0a', toolResult: 'r' });
  return events;
}

/** 200 rules in the shapes of the default pack: tag tests, host allow lists, path patterns, scope flags. */
function manyRules(n: number): string {
  const shapes: Array<[string, (i: number) => string]> = [
    ['data.access', (i) => `data.resource_type == 'file' && re_match(data.resource_uri, '/secret-${i}/[^/]+$')`],
    ['model.invocation', (i) => `data.tools_requested.exists(t, t.name == 'tool_${i}')`],
    ['tool.invocation', (i) => `data.return_sensitivity.exists(t, t == 'custom:${i}')`],
    ['data.access', (i) => `data.resource_type == 'socket' && host_in(data.network.remote_addr, ['10.${i % 250}.0.*'])`],
    ['identity.assertion', (i) => `data.within_granted_scope == false && data.audience_host == 'h${i}.example'`],
  ];
  const rules = Array.from({ length: n }, (_, i) => {
    const [on, cond] = shapes[i % shapes.length]!;
    return `  - id: GEN-${i}\n    description: generated ${i}\n    severity: low\n    decision: flag\n    on: [${on}]\n    condition: "${cond(i)}"\n`;
  });
  return `version: 1\nrules:\n${rules.join('')}`;
}

function measure(config: Record<string, unknown>, evs: CloudEvent[]): { usPerEvent: number; decisions: number } {
  const stage = createPolicyStage({ config: { watchRules: false, ...config }, source: 'agentrail://bench/0' });
  let decisions = 0;
  for (let r = 0; r < 2000; r++) for (const e of evs) stage.evaluate(e); // warm-up: JIT and steady-state GC
  const t0 = process.hrtime.bigint();
  for (let r = 0; r < ROUNDS; r++) for (const e of evs) decisions += stage.evaluate(e).length - 1;
  const ns = Number(process.hrtime.bigint() - t0);
  stage.close();
  return { usPerEvent: ns / 1000 / (ROUNDS * evs.length), decisions };
}

const evs = events();
const dir = mkdtempSync(join(tmpdir(), 'ar-bench-policy-'));
const many = join(dir, 'rules-200.yaml');
writeFileSync(many, manyRules(200));
const off = measure({ enabled: false }, evs);
const pack = measure({}, evs);
const big = measure({ rulesFile: many }, evs);
const per20 = (us: number, rules: number) => (us * 20) / rules;
console.log(`events per round: ${evs.length}, rounds: ${ROUNDS}`);
console.log(`policy off (pass-through): ${off.usPerEvent.toFixed(3)} µs/event`);
console.log(`default pack (7 rules):    ${pack.usPerEvent.toFixed(3)} µs/event  (${per20(pack.usPerEvent, 7).toFixed(3)} µs per 20 rules; ${(pack.usPerEvent / off.usPerEvent).toFixed(1)}x pass-through)`);
console.log(`200 generated rules:       ${big.usPerEvent.toFixed(3)} µs/event  (${per20(big.usPerEvent, 200).toFixed(3)} µs per 20 rules; ${(big.usPerEvent / pack.usPerEvent).toFixed(1)}x the default pack)`);
console.log(`goal ≤ 2 µs per event per 20 rules: default pack ${(per20(pack.usPerEvent, 7) / 2).toFixed(2)}x of goal, 200 rules ${(per20(big.usPerEvent, 200) / 2).toFixed(2)}x of goal`);
console.log(
  JSON.stringify({
    bench: 'policy',
    events: evs.length * ROUNDS,
    us_per_event_off: +off.usPerEvent.toFixed(3),
    us_per_event_default_pack: +pack.usPerEvent.toFixed(3),
    us_per_event_200_rules: +big.usPerEvent.toFixed(3),
    us_per_event_per_20_rules_default: +per20(pack.usPerEvent, 7).toFixed(3),
    us_per_event_per_20_rules_200: +per20(big.usPerEvent, 200).toFixed(3),
    decisions_default_pack: pack.decisions,
  }),
);
