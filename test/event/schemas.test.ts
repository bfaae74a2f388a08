import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsImport from 'ajv-formats';
import { repoRoot } from '../../src/paths.js';
import { EventTypes, type CloudEvent } from '../../src/contracts/envelope.js';
import { createPolicyStage } from '../../src/policy/stage.js';
import { connect, d, exec, exit, fork, harness, httpExchange, llmExchange, open, referenceSession } from './scenario.js';

const addFormats = addFormatsImport as unknown as (a: Ajv2020) => void;
const TYPES = ['tool.invocation', 'model.invocation', 'data.access', 'policy.decision', 'identity.assertion', 'error'];

function validators() {
  const ajv = new Ajv2020({ allErrors: true, strict: true, allowUnionTypes: true });
  addFormats(ajv);
  const v = new Map<string, ReturnType<typeof ajv.compile>>();
  for (const t of TYPES) v.set(`dev.agentrail.${t}`, ajv.compile(JSON.parse(readFileSync(join(repoRoot, 'schemas', `${t}.json`), 'utf8'))));
  return v;
}

function allEvents(): CloudEvent[] {
  const { b, events } = harness();
  referenceSession(b, { prompt: 'q', arg: 'v', fileText: 'f', key: 'sk-proj-Zz9LmT2vR7wK4pN8sB3yH6dF1gJ5cZ0a', toolResult: 'r' });
  b.onRaw(exec(900, 1, 1, '/usr/bin/node', ['node', 'x.js']));
  b.onRaw(open(900, 2, '/etc/shadow', -13));
  b.onRaw(open(900, 2, '/home/agent/.aws/credentials', 7));
  b.onRaw(connect(900, 3, -111));
  b.onRaw(fork(900, 901, 4));
  b.onRaw(exec(901, 900, 5, '/bin/false', ['false']));
  b.onRaw(exit(901, 6, 2));
  b.onExchange(httpExchange(900, 10, 3, { method: 'DELETE', path: '/bucket/key?versionId=1', authority: 'assets.s3.us-east-1.amazonaws.com' }, { status: 403 }));
  b.onExchange(llmExchange(900, 20, 3, { provider: 'anthropic', operation: 'messages', model: 'claude-x', error: { status: 429, type: 'rate_limit_error' } }, [['x-api-key', 'sk-ant-api03-abcdefghijklmnopqrstuvwxyz0123456789']]));
  b.flush();
  // Through the production policy stage with the default rule pack: the credential-store read fires AR-CRED-002.
  const policy = createPolicyStage({ config: { watchRules: false }, source: 'agentrail://test-node/0' });
  const out = [...events.flatMap((e) => policy.evaluate(e)), ...policy.tick(Date.now())];
  policy.close();
  assert.ok(out.some((e) => e.type === EventTypes.policyDecision && d(e).rule_fired === 'AR-CRED-002'), 'the default pack fired on the credential read');
  return out;
}

test('every built event validates against its JSON Schema (2020-12), and every type is covered', () => {
  const v = validators();
  const events = allEvents();
  const seen = new Set<string>();
  for (const e of events) {
    const validate = v.get(e.type);
    assert.ok(validate, `no schema for ${e.type}`);
    const ok = validate(JSON.parse(JSON.stringify(e)));
    assert.ok(ok, `${e.type}: ${JSON.stringify(validate.errors)}`);
    seen.add(e.type.slice('dev.agentrail.'.length));
    assert.equal(d(e).event_id, e.id);
    assert.equal(e.dataschema, `https://agentrail.dev/schemas/v1/${e.type.slice('dev.agentrail.'.length)}.json`);
  }
  assert.deepEqual([...seen].sort(), [...TYPES].sort());
  const obj = events.map(d).find((x) => x.resource_type === 'object')!;
  assert.equal(obj.resource_uri, 's3://assets/bucket/key'); // object URIs carry no query (signatures live there)
  assert.equal(obj.access_mode, 'delete');
  const apiErr = events.map(d).find((x) => typeof x.error_class === 'string' && x.error_class.startsWith('model_api_error'))!;
  assert.equal(apiErr.error_class, 'model_api_error:rate_limit_error');
  assert.equal(apiErr.http_status, 429);
});

test('schemas reject an event missing a seed minimum field or carrying an unknown one', () => {
  const v = validators();
  const events = allEvents();
  for (const t of TYPES) {
    const e = JSON.parse(JSON.stringify(events.find((x) => x.type === `dev.agentrail.${t}`)));
    const validate = v.get(`dev.agentrail.${t}`)!;
    const bad1 = structuredClone(e);
    delete bad1.data.trace_id;
    assert.equal(validate(bad1), false, `${t} without trace_id`);
    const bad2 = structuredClone(e);
    bad2.data.prompt_text = 'x';
    assert.equal(validate(bad2), false, `${t} with an unknown field`);
  }
});

test('every seed minimum field is present under its own name', () => {
  const seed: Record<string, string[]> = {
    'tool.invocation': ['event_id', 'trace_id', 'ts', 'workload_id', 'agent_session_id', 'tool_name', 'tool_version', 'param_schema', 'param_sensitivity', 'target_resource_type', 'return_status', 'return_size', 'return_hash', 'duration_ms'],
    'model.invocation': ['event_id', 'trace_id', 'ts', 'workload_id', 'agent_session_id', 'model_id', 'prompt_class', 'prompt_token_count', 'input_sensitivity', 'output_token_count', 'output_sensitivity', 'output_hash', 'tools_requested', 'policy_interventions'],
    'data.access': ['event_id', 'trace_id', 'ts', 'workload_id', 'resource_uri', 'access_mode', 'row_count', 'byte_count', 'sensitivity_tags_resolved', 'triggering_event_id'],
    'policy.decision': ['event_id', 'trace_id', 'ts', 'workload_id', 'policy_id', 'decision', 'evaluated_event_id', 'rule_fired'],
    'identity.assertion': ['event_id', 'trace_id', 'ts', 'workload_id', 'service_account', 'federated_identity', 'asserted_scope', 'granted_scope'],
    error: ['event_id', 'trace_id', 'ts', 'workload_id', 'error_class', 'originating_event_id', 'recovery_action'],
  };
  const events = allEvents();
  for (const [t, fields] of Object.entries(seed)) {
    const e = events.find((x) => x.type === `dev.agentrail.${t}`)!;
    for (const f of [...fields, 'agent', 'cause', 'reasoning', 'outcome']) assert.ok(f in d(e), `${t}.${f}`);
    const schema = JSON.parse(readFileSync(join(repoRoot, 'schemas', `${t}.json`), 'utf8'));
    for (const f of fields) assert.ok(schema.$defs.data.required.includes(f), `${t} schema requires ${f}`);
  }
});
