import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { fileURLToPath } from 'node:url';

function luhnComplete(prefix: string, len: number): string {
  let body = prefix;
  while (body.length < len - 1) body += String(randomInt(10));
  for (let d = 0; d < 10; d++) {
    const cand = body + d;
    let sum = 0;
    for (let i = 0; i < cand.length; i++) {
      let x = Number(cand[cand.length - 1 - i]);
      if (i % 2 === 1) x = x * 2 > 9 ? x * 2 - 9 : x * 2;
      sum += x;
    }
    if (sum % 10 === 0) return cand;
  }
  throw new Error('unreachable');
}

const alnum = (n: number) => {
  const abc = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  let s = '';
  for (const b of randomBytes(n)) s += abc[b % abc.length];
  return s;
};
const base32 = (n: number) => {
  const abc = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let s = '';
  for (const b of randomBytes(n)) s += abc[b % 32];
  return s;
};

test('canary: planted secrets and personal data never reach events, logs or metrics; their tags do', () => {
  const tag = alnum(10).toLowerCase();
  const canaries = {
    email: `canary.${tag}@example.org`,
    pan: luhnComplete('4' + String(randomInt(10 ** 5)).padStart(5, '7'), 16),
    ssn: `${randomInt(100, 600)}-${String(randomInt(10, 99))}-${String(randomInt(1000, 9999))}`,
    openai: `sk-proj-${alnum(40)}`,
    aws: `AKIA${base32(16)}`,
    pem: `-----BEGIN RSA PRIVATE KEY-----\nMIIE${alnum(48)}\n-----END RSA PRIVATE KEY-----`,
  };
  const child = fileURLToPath(new URL('./canary-child.js', import.meta.url));
  const r = spawnSync(process.execPath, [child, JSON.stringify(canaries)], { encoding: 'utf8', env: { ...process.env, AGENTRAIL_LOG_LEVEL: 'trace' } });
  assert.equal(r.status, 0, r.stderr.slice(0, 2000));
  const all = r.stdout + r.stderr;
  const needles = [...Object.values(canaries), tag, canaries.openai.slice(8), canaries.pem.split('\n')[1]!, canaries.pan.slice(0, 4) + ' ' + canaries.pan.slice(4, 8)];
  for (const n of needles) assert.equal(all.includes(n), false, `leaked a canary (${n.length} chars)`);

  const events = r.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { type: string; data: Record<string, any> });
  assert.ok(events.length > 15, `events: ${events.length}`);
  assert.match(r.stdout, /agentrail_stage_errors_total\{stage="event",reason="exchange_failed"\} 1/);
  assert.match(r.stderr, /"reason":"exchange_failed"/, 'the failure is logged, by reason');

  const model = events.find((e) => e.type === 'dev.agentrail.model.invocation')!;
  for (const t of ['PII:email', 'PCI:pan', 'PII:ssn', 'secret:api_key']) assert.ok(model.data.input_sensitivity.includes(t), `model input tag ${t}`);
  assert.ok(model.data.tools_requested[0].param_sensitivity.includes('secret:aws_access_key'));
  const readFile = events.find((e) => e.data.tool_name === 'read_file')!;
  assert.ok(readFile.data.return_sensitivity.includes('secret:private_key'));
  const mcpRes = events.find((e) => e.data.resource_type === 'mcp_resource')!;
  for (const t of ['PCI:pan', 'PII:customer_db', 'PII:email', 'secret:private_key']) assert.ok(mcpRes.data.sensitivity_tags_resolved.includes(t), `resource tag ${t}`);
  const crm = events.find((e) => typeof e.data.resource_uri === 'string' && e.data.resource_uri.startsWith('https://crm.example.com'))!;
  assert.equal(crm.data.resource_uri, 'https://crm.example.com/v1/export?api_key=');
  assert.ok(crm.data.sensitivity_tags_resolved.includes('PII:email'));
  const key = events.find((e) => e.data.credential_type === 'api_key' && e.data.audience_host === 'crm.example.com');
  assert.ok(key, 'the API key became an identity assertion');
  assert.ok(events.some((e) => e.type === 'dev.agentrail.error' && e.data.error_class === 'mcp_error:-32000'));
});
