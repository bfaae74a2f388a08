/**
 * OCSF output against the published OCSF schema from PyPI (`pydantic-ocsf`: the OCSF 1.7.0 class
 * models and schema JSON; no package on the registry ships 1.8 yet): every record of every
 * recorded capture, exported by `agentrail export --format ocsf`, is validated by
 * test/sink/formats/ocsf_validate.py (class model, required attributes, enums, no attribute the
 * schema does not declare). The 1.8 ai_operation objects (ai_model, message_context) are reported
 * apart. A control shows the validator rejects what it should.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cliEntry, repoRoot } from '../../../src/paths.js';
import { requireTool } from '../../helpers/privileges.js';
import { capturePath, listCaptures } from '../../replay/capture-tools.js';

const python = join(repoRoot, '.venv', 'bin', 'python');
const validator = join(repoRoot, 'test', 'sink', 'formats', 'ocsf_validate.py');
const work = mkdtempSync(join(tmpdir(), 'agentrail-ocsf-'));
const cfg = join(work, 'c.yaml');
writeFileSync(cfg, 'observability:\n  httpEnabled: false\n');
process.on('exit', () => rmSync(work, { recursive: true, force: true }));

interface Report {
  records: number;
  errors: Array<{ uid: string; class?: string; error: string }>;
  profile_1_8: string[];
  profile_attributes: string[];
}

function haveSchema(): boolean {
  return existsSync(python) && spawnSync(python, ['-c', 'import ocsf.v1_7_0.events'], { encoding: 'utf8' }).status === 0;
}

function validate(jsonl: string): Report {
  const r = spawnSync(python, [validator], { input: jsonl, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as Report;
}

function cli(args: string[]) {
  return spawnSync(process.execPath, [cliEntry, ...args], { cwd: repoRoot, env: { ...process.env, AGENTRAIL_ROOT: repoRoot }, encoding: 'utf8', timeout: 120_000 });
}

test('OCSF: every record of every recorded capture validates against the published OCSF schema (PyPI pydantic-ocsf)', (t) => {
  if (!requireTool(t, haveSchema(), 'pydantic-ocsf in the Python venv (.ci/setup.d/20-python.sh, requirements-test.txt)')) return;
  let total = 0;
  const seen1_8 = new Set<string>();
  for (const name of listCaptures()) {
    const logDir = join(work, name);
    const r = cli(['run', '--replay', capturePath(name), '--log-dir', logDir, '--config', cfg]);
    assert.equal(r.status, 0, r.stderr.slice(-2000));
    const out = join(work, `${name}.ocsf.jsonl`);
    const e = cli(['export', logDir, '--format', 'ocsf', '--out', out]);
    assert.equal(e.status, 0, e.stderr);
    const text = readFileSync(out, 'utf8');
    const rep = validate(text);
    assert.equal(rep.records, text.trim().split('\n').length);
    assert.deepEqual(rep.errors, [], `${name}: ${JSON.stringify(rep.errors.slice(0, 10))}`);
    for (const p of rep.profile_1_8) seen1_8.add(p);
    total += rep.records;
  }
  assert.ok(total > 100, `validated ${total} records`);
  assert.deepEqual([...seen1_8].sort(), ['ai_model', 'message_context'], 'model calls carry the ai_operation objects');
});

test('OCSF validator control: a missing required attribute, an invented attribute, a bad enum and a wrong activity name are each caught', (t) => {
  if (!requireTool(t, haveSchema(), 'pydantic-ocsf in the Python venv (.ci/setup.d/20-python.sh, requirements-test.txt)')) return;
  const logDir = join(work, 'control');
  assert.equal(cli(['run', '--replay', capturePath(listCaptures()[0]!), '--log-dir', logDir, '--config', cfg]).status, 0);
  const out = join(work, 'control.ocsf.jsonl');
  assert.equal(cli(['export', logDir, '--format', 'ocsf', '--out', out]).status, 0);
  const recs = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, any>);
  const api = recs.find((r) => r['class_uid'] === 6003)!;
  const file = recs.find((r) => r['class_uid'] === 1001)!;
  assert.ok(api && file, 'the capture has API and File System Activity records');
  const broken = [
    { ...api, api: undefined },
    { ...api, invented_field: 1 },
    { ...api, status_id: 7 },
    { ...file, activity_id: 3, type_uid: 100103, activity_name: 'write' },
  ].map((r) => JSON.stringify(r));
  const rep = validate(broken.join('\n') + '\n');
  const errs = rep.errors.map((e) => e.error).join('\n');
  assert.match(errs, /api: Field required/);
  assert.match(errs, /invented_field/);
  assert.match(errs, /status_id=7/);
  assert.match(errs, /activity_name/);
});
