/**
 * The SIEM content in deploy/ (index template, five-question queries, Sigma rules and their
 * OpenSearch/Splunk conversions) is generated from the sources of truth by scripts/siem-deploy.mjs;
 * this test fails when a committed file drifts from what the generator (and pySigma) produce.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';
import { repoRoot } from '../../src/paths.js';
import { requireTool } from '../helpers/privileges.js';

const python = join(repoRoot, '.venv', 'bin', 'python');
const havePySigma = () => existsSync(python) && spawnSync(python, ['-c', 'import sigma.backends.opensearch, sigma.backends.splunk'], { encoding: 'utf8' }).status === 0;

test('deploy/: SIEM content equals what scripts/siem-deploy.mjs generates; one Sigma rule per default policy rule', (t) => {
  if (!requireTool(t, havePySigma(), 'pySigma in the Python venv (requirements-test.txt)')) return;
  const r = spawnSync(process.execPath, [join(repoRoot, 'scripts', 'siem-deploy.mjs'), '--check'], { encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.status, 0, r.stderr);
  const pack = YAML.parse(readFileSync(join(repoRoot, 'policy', 'default-rules.yaml'), 'utf8')) as { rules: Array<{ id: string }> };
  const conv = JSON.parse(readFileSync(join(repoRoot, 'deploy', 'opensearch', 'agentrail-policy-sigma.json'), 'utf8')) as Array<{ rule: string; lucene: string }>;
  assert.deepEqual(conv.map((c) => c.rule), pack.rules.map((x) => x.id));
  for (const c of conv) assert.ok(c.lucene.includes('policy.decision'), c.lucene);
});
