#!/usr/bin/env node
// Generates the SIEM content a team loads, from the project's single sources of truth, so none of
// it is hand-copied (issue 14):
//   deploy/opensearch/agentrail-ecs-template.json   index template (src/sink/opensearch/template.ts, from @elastic/ecs)
//   deploy/opensearch/five-questions.json           the five questions as Query DSL (src/sink/opensearch/questions.ts)
//   deploy/sigma/<rule>.yml                         one Sigma rule per rule of policy/default-rules.yaml
//   deploy/opensearch/agentrail-policy-sigma.json   those rules as OpenSearch Lucene queries (pySigma opensearch backend)
//   deploy/splunk/agentrail-policy.spl              and as Splunk SPL searches (pySigma splunk backend)
// Needs `npm run build:ts` and the Python venv (pySigma, requirements-test.txt).
//   node scripts/siem-deploy.mjs           write the files
//   node scripts/siem-deploy.mjs --check   exit 1 when a committed file differs from what would be generated
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { indexTemplate, INDEX_PATTERN } = await import(join(root, 'dist/src/sink/opensearch/template.js'));
const { QUERIES } = await import(join(root, 'dist/src/sink/opensearch/questions.js'));

/** RFC 4122 version-5 UUID (SHA-1 of namespace + name): a Sigma rule id that is stable across runs. */
function uuid5(name, ns = '6ba7b811-9dad-11d1-80b4-00c04fd430c8') {
  const h = createHash('sha1').update(Buffer.from(ns.replace(/-/g, ''), 'hex')).update(name).digest();
  h[6] = (h[6] & 0x0f) | 0x50;
  h[8] = (h[8] & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

const files = new Map();
const json = (o) => JSON.stringify(o, null, 2) + '\n';

files.set('deploy/opensearch/agentrail-ecs-template.json', json(indexTemplate()));

const ART = 'sha256:<hex digest of the artifact>';
const TOOL_IDS = ['<event.id of each tool.invocation found by q4_artifact>'];
const q = (description, body) => ({ description, request: `GET ${INDEX_PATTERN}/_search`, body });
files.set(
  'deploy/opensearch/five-questions.json',
  json({
    q1_triggering_input: q('What triggered it: the first model call of each agent session, with its instruction hash', QUERIES.q1_triggering_input()),
    q2_tools: q('Which tools ran, in order, with the model call that requested each and the hash of what each returned', QUERIES.q2_tools()),
    q3_data: q('What data it touched: every resource with accesses, modes and bytes', QUERIES.q3_data()),
    q4_egress: q('Where data went: network destinations with bytes out/in and the hashes of what was sent', QUERIES.q4_egress()),
    q4_artifact: q('Where one file went: every event carrying its SHA-256 (agentrail hash FILE prints it)', QUERIES.q4_artifact(ART)),
    q4_artifact_carriers: q('The model requests that carried those tool results back to the model', QUERIES.q4_artifact_carriers(TOOL_IDS)),
    q5_identity: q('Under whose identity: process, uid and the keyed id of the credential presented', QUERIES.q5_identity()),
  }),
);

const pack = YAML.parse(readFileSync(join(root, 'policy', 'default-rules.yaml'), 'utf8'));
const LEVEL = { low: 'low', medium: 'medium', high: 'high', critical: 'critical' };
const sigma = [];
for (const r of pack.rules) {
  const text = YAML.stringify({
    title: `agentrail ${r.id}: ${r.description}`.slice(0, 256),
    id: uuid5(`agentrail:${r.id}`),
    status: 'experimental',
    description: `${r.description}. Fires on the policy.decision that the agentrail sensor sealed for rule ${r.id} (default policy pack, policy/default-rules.yaml); the decision's agentrail.* fields link to the evaluated event and its log entry.`,
    references: (r.references ?? []).map(String),
    author: 'agentrail',
    date: '2026-12-04',
    logsource: { product: 'agentrail', service: 'policy' },
    detection: { selection: { 'event.action': 'policy.decision', 'rule.id': r.id }, condition: 'selection' },
    fields: ['event.id', 'rule.id', 'event.type', 'agentrail.sequence', 'agentrail.leaf_hash', 'trace.id'],
    falsepositives: ['Rules run in observe mode; review the evaluated event before acting'],
    level: LEVEL[r.severity] ?? 'medium',
  });
  const file = `deploy/sigma/${r.id.toLowerCase()}.yml`;
  files.set(file, text);
  sigma.push({ rule: r.id, file, text });
}

// Sigma → OpenSearch Lucene and Splunk SPL with pySigma's maintained backends.
const python = join(root, '.venv', 'bin', 'python');
if (!existsSync(python)) throw new Error('the Python venv is missing (.ci/setup.d/20-python.sh)');
const conv = spawnSync(
  python,
  [
    '-c',
    `import json, sys
from sigma.collection import SigmaCollection
from sigma.backends.opensearch import OpensearchLuceneBackend
from sigma.backends.splunk import SplunkBackend
out = []
for r in json.load(sys.stdin):
    c = SigmaCollection.from_yaml(r["text"])
    out.append({"rule": r["rule"], "opensearch": OpensearchLuceneBackend().convert(c)[0], "splunk": SplunkBackend().convert(c)[0]})
print(json.dumps(out))`,
  ],
  { input: JSON.stringify(sigma), encoding: 'utf8' },
);
if (conv.status !== 0) throw new Error(`pySigma conversion failed: ${conv.stderr.trim().split('\n').slice(-3).join(' | ')}`);
const converted = JSON.parse(conv.stdout);
files.set(
  'deploy/opensearch/agentrail-policy-sigma.json',
  json(converted.map((c) => ({ rule: c.rule, sigma: sigma.find((s) => s.rule === c.rule).file, lucene: c.opensearch, body: { query: { query_string: { query: c.opensearch } } } }))),
);
files.set(
  'deploy/splunk/agentrail-policy.spl',
  [
    '# agentrail default policy pack as Splunk searches (generated from deploy/sigma by pySigma; scripts/siem-deploy.mjs).',
    '# They run on the ECS topic/export indexed into Splunk (export --format ecs), one search per rule.',
    ...converted.flatMap((c) => [`# ${c.rule}`, `index=agentrail ${c.splunk}`]),
    '',
  ].join('\n'),
);

const check = process.argv.includes('--check');
let drift = 0;
for (const [rel, text] of files) {
  const path = join(root, rel);
  if (check) {
    if (!existsSync(path) || readFileSync(path, 'utf8') !== text) {
      process.stderr.write(`siem-deploy: ${rel} differs from the generated content (run node scripts/siem-deploy.mjs)\n`);
      drift++;
    }
  } else {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, text);
  }
}
process.stdout.write(`${check ? 'checked' : 'wrote'} ${files.size} files${drift ? `, ${drift} differ` : ''}\n`);
process.exitCode = drift ? 1 : 0;
