/** The contract of src/seal/log-interface.ts with helper D's LocalLog: restarts, a torn tail, verification. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { KeySet } from '../../src/seal/keys.js';
import { Sealer } from '../../src/seal/sealer.js';
import { LocalLog } from '../../src/sink/local-log.js';
import { parseKeyring } from '../../src/verify/keyring.js';
import { verifyLog } from '../../src/verify/log-verifier.js';
import { readSource } from '../../src/verify/node-reader.js';
import { logLines, makeKeys, SOURCE, tmp, toolEvent } from './fixture.js';

test('Sealer over LocalLog: two clean runs, a torn tail repaired on the third start, the log verifies', async () => {
  const keys = makeKeys();
  const dir = tmp();
  const open = () => Sealer.open({ sink: new LocalLog(dir), source: SOURCE, keys: KeySet.fromFiles([{ file: keys.keyFile }]), checkpointEvents: 10 });
  for (let run = 0; run < 2; run++) {
    const s = await open();
    for (let i = 0; i < 25; i++) s.seal(toolEvent(i));
    await s.close();
  }
  const segs = readdirSync(join(dir, 'segments')).sort();
  appendFileSync(join(dir, 'segments', segs.at(-1)!), '{"data":{"tor');
  const s = await open();
  assert.equal(s.recovery.badReason, 'TORN_LINE');
  assert.equal(s.recovery.truncatedLines, 1);
  await s.close();
  const r = await verifyLog(readSource(dir), { keys: parseKeyring(readFileSync(keys.keyring, 'utf8')) });
  assert.equal(r.ok, true, JSON.stringify(r.failure));
  const types = logLines(dir).map((l) => JSON.parse(l).type);
  assert.equal(types.filter((t) => t === 'dev.agentrail.sensor.start').length, 3);
  assert.equal(types.filter((t) => t === 'dev.agentrail.log.gap').length, 1);
});
