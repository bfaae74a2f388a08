/**
 * The SIEM formats on real trails: each recorded capture (test/fixtures/captures, recorded from
 * the real kernel) is replayed through the real CLI into a sealed log, then exported with
 * `agentrail export --format`. ECS output is checked against the published field definitions of
 * npm @elastic/ecs (EcsFlat), HEC against Splunk's documented envelope, and every record of every
 * format must link back to its sealed line by event id, sequence and recomputed leaf hash.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EcsFlat } from '@elastic/ecs';
import { cliEntry, repoRoot } from '../../../src/paths.js';
import { capturePath, listCaptures } from '../../replay/capture-tools.js';
import { readLogEvents } from '../../replay/capture-summary.js';

const work = mkdtempSync(join(tmpdir(), 'agentrail-formats-'));
const cfg = join(work, 'c.yaml');
writeFileSync(cfg, 'observability:\n  httpEnabled: false\n');
process.on('exit', () => rmSync(work, { recursive: true, force: true }));

function cli(args: string[]) {
  return spawnSync(process.execPath, [cliEntry, ...args], { cwd: repoRoot, env: { ...process.env, AGENTRAIL_ROOT: repoRoot }, encoding: 'utf8', timeout: 120_000 });
}

/** Independent leaf hash: SHA-256(0x00 || the sealed line's bytes), as RFC 6962 defines it. */
const leaf = (line: string) => createHash('sha256').update(Buffer.concat([Buffer.from([0]), Buffer.from(line, 'utf8')])).digest('hex');

/** Flatten a document to ECS dotted names (arrays of scalars stay one field). */
function flatten(o: Record<string, unknown>, prefix = '', out: Record<string, unknown> = {}): Record<string, unknown> {
  for (const [k, v] of Object.entries(o)) {
    const name = prefix ? `${prefix}.${k}` : k;
    if (v && typeof v === 'object' && !Array.isArray(v)) flatten(v as Record<string, unknown>, name, out);
    else if (v !== undefined) out[name] = v;
  }
  return out;
}

const ECS_TYPES: Record<string, (v: unknown) => boolean> = {
  keyword: (v) => typeof v === 'string', constant_keyword: (v) => typeof v === 'string', wildcard: (v) => typeof v === 'string',
  match_only_text: (v) => typeof v === 'string', text: (v) => typeof v === 'string', date: (v) => typeof v === 'string' && !Number.isNaN(Date.parse(v)),
  long: (v) => Number.isInteger(v), integer: (v) => Number.isInteger(v), float: (v) => typeof v === 'number', scaled_float: (v) => typeof v === 'number',
  ip: (v) => typeof v === 'string', boolean: (v) => typeof v === 'boolean',
};
const ecs = EcsFlat as unknown as Record<string, { type: string; allowed_values?: Array<{ name: string }> }>;

const PLAINTEXT = ['Summarize the quarterly report', 'jane.doe@example.com', 'sk-fixture-not-a-real-key', '4111 1111 1111 1111'];

for (const name of listCaptures()) {
  test(`formats of the replayed capture ${name}`, () => {
    const logDir = join(work, name);
    const r = cli(['run', '--replay', capturePath(name), '--log-dir', logDir, '--config', cfg]);
    assert.equal(r.status, 0, r.stderr.slice(-2000));
    const sealedLines = readLogEvents(logDir);
    const lines = new Map<string, string>();
    for (const seg of (spawnSync('ls', [join(logDir, 'segments')], { encoding: 'utf8' }).stdout.trim().split('\n'))) {
      for (const l of readFileSync(join(logDir, 'segments', seg), 'utf8').split('\n')) if (l) lines.set((JSON.parse(l) as { id: string }).id, l);
    }
    assert.ok(sealedLines.length > 0);
    const out: Record<string, Array<Record<string, any>>> = {};
    for (const f of ['ocsf', 'ecs', 'splunk-hec']) {
      const file = join(work, `${name}.${f}.jsonl`);
      const e = cli(['export', logDir, '--format', f, '--out', file]);
      assert.equal(e.status, 0, e.stderr);
      const text = readFileSync(file, 'utf8');
      for (const p of PLAINTEXT) assert.ok(!text.includes(p), `${f} leaks fixture plaintext`);
      out[f] = text.trim().split('\n').map((l) => JSON.parse(l));
      assert.equal(out[f]!.length, sealedLines.length, `${f}: one record per sealed event`);
    }
    for (const [i, ev] of sealedLines.entries()) {
      const line = lines.get(ev.id)!;
      const seq = (JSON.parse(line) as { sequence?: string }).sequence ?? null;
      const o = out['ocsf']![i]!;
      assert.equal(o['metadata'].uid, ev.id);
      assert.deepEqual([o['unmapped'].sequence, o['unmapped'].leaf_hash], [seq, leaf(line)]);
      assert.equal(o['type_uid'], o['class_uid'] * 100 + o['activity_id']);
      const d = out['ecs']![i]!;
      assert.deepEqual([d['event'].id, d['agentrail'].sequence, d['agentrail'].leaf_hash], [ev.id, seq, leaf(line)]);
      for (const [field, v] of Object.entries(flatten(d))) {
        if (field.startsWith('agentrail.')) continue; // the product's own namespace, as ECS advises
        const def = ecs[field];
        assert.ok(def, `ECS has no field ${field} (${ev.type})`);
        const check = ECS_TYPES[def.type];
        assert.ok(check, `unhandled ECS type ${def.type} for ${field}`);
        for (const x of Array.isArray(v) ? v : [v]) assert.ok(check(x), `${field}=${JSON.stringify(x)} is not ECS ${def.type}`);
        if (def.allowed_values) for (const x of Array.isArray(v) ? v : [v]) assert.ok(def.allowed_values.some((a) => a.name === x), `${field}=${x} not an allowed ECS value`);
      }
      const h = out['splunk-hec']![i]!;
      assert.deepEqual(Object.keys(h).sort(), ['event', 'fields', 'host', 'index', 'source', 'sourcetype', 'time']);
      assert.equal(typeof h['time'], 'number');
      assert.equal(h['time'], Date.parse(ev.time!) / 1000);
      assert.deepEqual(h['event'], JSON.parse(line));
      for (const v of Object.values(h['fields'] as object)) assert.equal(typeof v, 'string', 'HEC indexed fields are strings');
      assert.equal(h['fields'].leaf_hash, leaf(line));
    }
    // model calls carry the ai_operation profile with the model and token counts
    const models = out['ocsf']!.filter((o) => o['unmapped'].type === 'dev.agentrail.model.invocation');
    for (const m of models) {
      assert.ok(m['metadata'].profiles.includes('ai_operation'));
      assert.ok(m['ai_model'].name && m['ai_model'].ai_provider);
      assert.ok(Number.isInteger(m['message_context'].prompt_token_count));
    }
  });
}

test('an unknown --format is one clear line with a stable code', () => {
  const logDir = join(work, listCaptures()[0]!);
  const r = cli(['export', logDir, '--format', 'leef', '--out', join(work, 'x')]);
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /FORMAT_UNKNOWN/);
  assert.equal(r.stderr.trim().split('\n').filter((l) => l.includes('FORMAT_UNKNOWN')).length, 1);
});
