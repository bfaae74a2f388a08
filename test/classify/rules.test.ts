import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Classifier } from '../../src/classify/classifier.js';
import { RuleStore, parseRuleFile } from '../../src/classify/rules.js';
import { registry } from '../../src/observability/metrics.js';

const cls = new Classifier();
const p = (path: string) => [...cls.path(path)].sort();

test('built-in path rules', () => {
  assert.deepEqual(p('/etc/shadow'), ['secret:password_hash']);
  assert.deepEqual(p('/root/.ssh/id_ed25519'), ['secret:ssh']);
  assert.deepEqual(p('/home/alice/.ssh/authorized_keys'), ['secret:ssh']);
  assert.deepEqual(p('/srv/app/.env'), ['secret:env_file']);
  assert.deepEqual(p('.env'), ['secret:env_file']);
  assert.deepEqual(p('/srv/app/.env.production'), ['secret:env_file']);
  assert.deepEqual(p('/home/bob/.aws/credentials'), ['secret:cloud_credentials']);
  assert.deepEqual(p('/home/bob/.config/gcloud/application_default_credentials.json'), ['secret:cloud_credentials']);
  assert.deepEqual(p('/var/run/secrets/kubernetes.io/serviceaccount/token'), ['secret:k8s_service_account']);
  assert.deepEqual(p('/etc/passwd'), []);
  assert.deepEqual(p('/home/alice/notes.txt'), []);
  assert.deepEqual(p('/srv/app/environment.ts'), []);
});

test('rule file validation names the problem', () => {
  assert.throws(() => parseRuleFile('tags: { nosuch: "PII:x" }'), /unknown detector id: nosuch/);
  assert.throws(() => parseRuleFile('paths: [{ glob: "/x", tags: ["not a tag"] }]'), /CLASS:kind/);
  assert.throws(() => parseRuleFile('bogus: 1'), /invalid/);
  assert.throws(() => parseRuleFile('paths: [unclosed'), /not valid YAML/);
  assert.deepEqual(parseRuleFile('disabled: [phone]').disabled, ['phone']);
});

/** Polls until the condition holds (the watcher reloads asynchronously); fails after 5 s. */
async function until(cond: () => boolean, what: string): Promise<void> {
  const end = Date.now() + 5000;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

test('the rule file reloads without restart; a bad file keeps the previous rules and counts an error', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'agentrail-rules-'));
  const file = join(dir, 'rules.yaml');
  writeFileSync(file, 'paths:\n  - glob: "/srv/patients/**"\n    tags: ["PHI:record"]\n');
  const store = new RuleStore(file).watch(20);
  const c = new Classifier(store);
  try {
    assert.deepEqual([...c.path('/srv/patients/42.json')], ['PHI:record']);
    assert.deepEqual([...c.text('mail bob@example.com')], ['PII:email']);

    // Edit in place: new tag names, a detector switched off.
    writeFileSync(file, 'tags: { email: "PII:contact" }\ndisabled: [phone]\npaths:\n  - glob: "/srv/finance/**"\n    tags: ["PCI:ledger"]\n');
    await until(() => c.path('/srv/finance/q3.csv').size > 0, 'reload 1');
    assert.deepEqual([...c.text('mail bob@example.com')], ['PII:contact']);
    assert.deepEqual([...c.text('call +44 20 7946 0958')], []);
    assert.deepEqual([...c.path('/srv/patients/42.json')], []);
    assert.deepEqual([...c.path('/srv/finance/q3.csv')], ['PCI:ledger']);

    // A broken file: previous rules stay, error counted.
    const before = (await registry.getSingleMetric('agentrail_stage_errors_total')!.get()).values.find((v) => v.labels.reason === 'rules_invalid')?.value ?? 0;
    writeFileSync(file, 'tags: { email: 42 }\n');
    await until(() => store.reloadErrors >= 1, 'rejected reload');
    assert.deepEqual([...c.text('mail bob@example.com')], ['PII:contact']);
    const after = (await registry.getSingleMetric('agentrail_stage_errors_total')!.get()).values.find((v) => v.labels.reason === 'rules_invalid')?.value ?? 0;
    assert.equal(after - before, store.reloadErrors, 'every rejected reload is counted');

    // Atomic replace (editors, ConfigMap symlink swaps): rename over the file.
    const tmp = join(dir, 'rules.yaml.tmp');
    writeFileSync(tmp, 'paths:\n  - glob: "/srv/hr/**"\n    tags: ["PII:employee_record"]\n');
    renameSync(tmp, file);
    await until(() => c.path('/srv/hr/alice.pdf').size > 0, 'reload after rename');
    assert.deepEqual([...c.path('/srv/hr/alice.pdf')], ['PII:employee_record']);
    assert.deepEqual([...c.text('mail bob@example.com')], ['PII:email']);
  } finally {
    store.close();
  }
});

test('a bad rule file at start is a typed startup error naming the file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'agentrail-rules-'));
  const file = join(dir, 'bad.yaml');
  writeFileSync(file, 'disabled: [nosuch]\n');
  assert.throws(() => new RuleStore(file), (e: Error & { code?: string }) => e.code === 'CLASSIFY_RULES' && e.message.includes('bad.yaml') && e.message.includes('nosuch'));
});

test('the any-path prefilter never hides a rule match (built-in and user globs; recorded, generated and glob-text paths) and rejects most real paths', async () => {
  const { compileRules } = await import('../../src/classify/rules.js');
  const { capturePath, listCaptures, readEvents } = await import('../replay/capture-tools.js');
  const rules = compileRules(parseRuleFile('paths:\n  - { glob: "/srv/**/secret-*.{json,yaml}", tags: ["secret:custom"] }\n  - { glob: "~/proj/@(a|b)/*.txt", tags: ["PII:custom"] }\n  - { glob: "/data/[abc]?.db", tags: ["PII:db"] }\n'), 1);
  const recorded = new Set<string>();
  for (const n of listCaptures()) for (const e of readEvents(capturePath(n))) if (e.kind === 'file.open' || e.kind === 'proc.exec') recorded.add(e.kind === 'file.open' ? e.path : e.filename);
  const parts = ['/root', '/home/alice', '/Users/bob', '/srv/app', '/etc', '/var/run/secrets/kubernetes.io', '.ssh', '.aws', 'credentials', 'config', '.env', '.env.local', 'id_rsa', 'x.pem', 'k.key', 'secret-1.json', 'secret-2.yml', 'proj', 'a', 'b', 'c', 'notes.txt', 'a1.db', 'cd.db', '**', '*.{pem,key}', '{json,yaml}', '.', '..', ''];
  const generated: string[] = [];
  for (let i = 0; i < 20_000; i++) {
    const n = 1 + (i % 5);
    const segs = Array.from({ length: n }, (_, k) => parts[(i * 7 + k * 13 + (i >> 3)) % parts.length]!);
    generated.push((i % 3 === 0 ? '' : '/') + segs.join('/'));
  }
  const globTexts = ['/etc/shadow', '**/*.{pem,key,p12,pfx}', '/srv/**/secret-*.{json,yaml}', '/root/proj/@(a|b)/*.txt', '/data/[abc]?.db', '~/.netrc'];
  let matched = 0;
  let rejected = 0;
  for (const path of [...recorded, ...generated, ...globTexts]) {
    const any = rules.paths.some((r) => r.match(path));
    if (any) matched++;
    assert.ok(!any || rules.anyPath(path), `prefilter hides a match: ${path}`);
    if (recorded.has(path) && !rules.anyPath(path)) rejected++;
  }
  assert.ok(matched > 500, `the generated paths exercise the rules: ${matched} matched`);
  assert.ok(recorded.size > 50 && rejected / recorded.size > 0.8, `most recorded paths skip the per-rule matchers: ${rejected}/${recorded.size}`);
});
