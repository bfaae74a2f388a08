/** The seal config section and the lifecycle JSON Schemas, checked against a real sealed log. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { sealSchema } from '../../src/config/seal.js';
import { openSealerFromConfig } from '../../src/seal/index.js';
import { LocalLog } from '../../src/sink/local-log.js';
import { repoRoot } from '../../src/paths.js';
import { logLines, makeKeys, SOURCE, tmp, toolEvent } from './fixture.js';

const addFormats = addFormatsModule as unknown as (a: Ajv2020) => Ajv2020;

test('seal config: defaults, strictness, validity windows', () => {
  const d = sealSchema.parse({});
  assert.equal(d.checkpoint.events, 1000);
  assert.equal(d.checkpoint.intervalMs, 10_000);
  assert.equal(d.eventSignatures, false);
  assert.equal(d.recovery.maxTruncateBytes, 1 << 20);
  assert.deepEqual(d.keys, []);
  assert.throws(() => sealSchema.parse({ checkpoint: { every: 5 } }));
  assert.throws(() => sealSchema.parse({ keys: [{ file: '/k', notBefore: 'yesterday' }] }));
  assert.equal(sealSchema.parse({ keys: [{ file: '/k', notBefore: '2026-01-01T00:00:00Z' }] }).keys[0]!.notBefore, '2026-01-01T00:00:00Z');
  assert.throws(() => sealSchema.parse({ origin: 'has space' }));
});

test('lifecycle events of a real log validate against schemas/*.json; key rotation picks the newest valid key', async () => {
  const old = makeKeys('node-old');
  const cur = makeKeys('node-new');
  const cfg = sealSchema.parse({
    checkpoint: { events: 5 },
    keys: [
      { file: old.keyFile, notAfter: '2099-01-01T00:00:00Z' },
      { file: cur.keyFile, notBefore: '2020-01-01T00:00:00Z' },
    ],
  });
  const dir = tmp();
  const s = await openSealerFromConfig(cfg, new LocalLog(dir), SOURCE, { node: 'n1' });
  for (let i = 0; i < 7; i++) s.seal(toolEvent(i));
  s.recordGap({ reason: 'disk-bound', lostEvents: 3, detail: 'DISK_BOUND' });
  await s.close();
  const evs = logLines(dir).map((l) => JSON.parse(l));
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats(ajv);
  const seen = new Set<string>();
  for (const t of ['sensor.start', 'sensor.stop', 'log.gap', 'log.checkpoint']) {
    const validate = ajv.compile(JSON.parse(readFileSync(join(repoRoot, 'schemas', `${t}.json`), 'utf8')));
    for (const e of evs.filter((x) => x.type === `dev.agentrail.${t}`)) {
      assert.ok(validate(e), `${t}: ${ajv.errorsText(validate.errors)}`);
      seen.add(t);
    }
    const bad = structuredClone(evs.find((x) => x.type === `dev.agentrail.${t}`));
    delete bad.prevhash;
    assert.equal(validate(bad), false, `${t} without prevhash must not validate`);
  }
  assert.equal(seen.size, 4);
  const start = evs.find((e) => e.type === 'dev.agentrail.sensor.start');
  assert.equal(start.data.keyName, 'node-new');
  assert.equal(start.data.node, 'n1');
  assert.ok(evs.filter((e) => e.type === 'dev.agentrail.log.checkpoint').every((e) => e.data.note.includes('\u2014 node-new ')));
});

test('a configured seal.origin is used in every note; --origin pins it', async () => {
  const keys = makeKeys();
  const cfg = sealSchema.parse({ origin: 'node-a.example/agentrail', keys: [{ file: keys.keyFile }] });
  const dir = tmp();
  const s = await openSealerFromConfig(cfg, new LocalLog(dir), SOURCE);
  for (let i = 0; i < 3; i++) s.seal(toolEvent(i));
  await s.close();
  const notes = logLines(dir).map((l) => JSON.parse(l)).filter((e) => e.type === 'dev.agentrail.log.checkpoint').map((e) => e.data.note as string);
  assert.ok(notes.length >= 2 && notes.every((n) => n.startsWith('node-a.example/agentrail\n')));
  const { runCli } = await import('../helpers/cli.js');
  assert.equal(runCli(['verify', dir, '--keys', keys.keyring]).status, 0);
  assert.equal(runCli(['verify', dir, '--keys', keys.keyring, '--origin', 'node-a.example/agentrail']).status, 0);
  const wrong = runCli(['verify', dir, '--keys', keys.keyring, '--origin', 'node-b.example/agentrail', '--json']);
  assert.equal(wrong.status, 14);
  assert.equal(JSON.parse(wrong.stdout).failure.reason, 'ORIGIN_MISMATCH');
});
