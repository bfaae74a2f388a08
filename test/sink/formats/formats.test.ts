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
import { ecsViolations } from '../../helpers/ecs-check.js';
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
      const bad = ecsViolations(d);
      assert.deepEqual(bad, [], `${ev.type}: ${bad.join('; ')}`);
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
