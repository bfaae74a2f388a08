import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_RULES_FILE } from '../../src/policy/rule-store.js';
import { runCli } from '../helpers/cli.js';
import { harness } from '../event/scenario.js';
import { exfilSession, PII } from './sessions.js';

test('agentrail policy test RULES FILE replays an export through the rules and prints the decisions', () => {
  const h = harness();
  exfilSession(h.b, PII, { addr: '203.0.113.7', port: 443 });
  h.b.flush();
  const dir = mkdtempSync(join(tmpdir(), 'ar-policy-cli-'));
  const file = join(dir, 'export.jsonl');
  writeFileSync(file, h.events.map((e) => JSON.stringify(e)).join('\n') + '\n');
  const egress = h.events.find((e) => (e.data as { resource_type?: string }).resource_type === 'socket')!;
  const r = runCli(['policy', 'test', DEFAULT_RULES_FILE, file]);
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  const exfil = lines.filter((l) => l.includes(' FLAG AR-EXFIL-001 '));
  assert.equal(exfil.length, 1, r.stdout);
  assert.ok(exfil[0]!.includes(`event=${egress.id}`));
  assert.match(r.stderr, new RegExp(`policy test: ${h.events.length} events, \\d+ decisions \\(.*AR-EXFIL-001=1`));

  const json = runCli(['policy', 'test', DEFAULT_RULES_FILE, file, '--json']);
  const decisions = json.stdout.trim().split('\n').map((l) => JSON.parse(l) as { type: string; data: { rule_fired: string } });
  assert.ok(decisions.every((d) => d.type === 'dev.agentrail.policy.decision'));
  assert.ok(decisions.some((d) => d.data.rule_fired === 'AR-EXFIL-001'));

  const bad = runCli(['policy', 'test', join(dir, 'missing.yaml'), file]);
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /POLICY_RULES_READ/);
  assert.equal(bad.stderr.trim().split('\n').length, 1, 'one line');
});
