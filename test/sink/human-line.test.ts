import { test } from 'node:test';
import assert from 'node:assert/strict';
import { humanLine } from '../../src/sink/human-line.js';
import type { CloudEvent } from '../../src/contracts/envelope.js';

const ev = (type: string, data: Record<string, unknown>): CloudEvent =>
  ({ specversion: '1.0', id: '01J', source: 's', type: `dev.agentrail.${type}`, time: '2026-12-04T10:00:00.000000Z', sequence: '42', data }) as unknown as CloudEvent;
const proc = { comm: 'python3', pid: 4242 };

test('tail shows what happened: process, model and tools, resource and bytes, tags, decision', () => {
  const m = humanLine(ev('model.invocation', { process: proc, model_id: 'gpt-4o', provider: 'openai', operation: 'chat.completions', prompt_token_count: 120, output_token_count: 9, tools_requested: [{ name: 'read_file' }, { name: 'http_post' }], input_sensitivity: ['PII:email'], outcome: { status: 'SUCCESS' } }));
  assert.match(m, /model\.invocation\s+python3\[4242\]\s+model=gpt-4o openai\/chat\.completions in=120tok out=9tok → tools=read_file,http_post \[PII:email\]\s+#42$/);
  const egress = humanLine(ev('data.access', { process: proc, access_mode: 'connect', resource_type: 'socket', resource_uri: 'tls://drop.example.test:443', bytes_written: 204800, bytes_read: 90, network: { plaintext: 'none' }, sensitivity_tags_resolved: [] }));
  assert.match(egress, /connect tls:\/\/drop\.example\.test:443 out=200\.0KiB in=90B plaintext=none/);
  const file = humanLine(ev('data.access', { process: proc, access_mode: 'read', resource_type: 'file', resource_uri: 'file:///srv/customers.csv', byte_count: 5000, sensitivity_tags_resolved: ['PII:email', 'secret:aws_access_key'] }));
  assert.match(file, /read file:\/\/\/srv\/customers\.csv 4\.9KiB \[PII:email,secret:aws_access_key\]/);
  const d = humanLine(ev('policy.decision', { decision: 'flag', policy_id: 'AR-EXFIL-001', severity: 'high', enforcement: 'observe', evaluated_event_id: '01K' }));
  assert.match(d, /FLAG AR-EXFIL-001 severity=high observe on=01K/);
  const failed = humanLine(ev('error', { process: proc, error_class: 'http_server_error', http_status: 502, outcome: { status: 'FAILURE' } }));
  assert.match(failed, /http_server_error http=502 FAILURE/);
});
