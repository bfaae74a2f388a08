/**
 * Crash tests: a child sealing events is SIGKILLed mid-write; after a restart the log verifies and
 * the crash shows as a sensor.start(reason=crash-recovery) record and, for a torn line, a log.gap.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { appendFileSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { parseKeyring } from '../../src/verify/keyring.js';
import { verifyLog } from '../../src/verify/log-verifier.js';
import { readSignedHead, readSource, segmentFiles } from '../../src/verify/node-reader.js';
import { drops, registry } from '../../src/observability/metrics.js';
import { buildLog, crashedLog, logLines, makeKeys, openSealer, SOURCE, tmp, toolEvent } from './fixture.js';

const writer = join(fileURLToPath(new URL('.', import.meta.url)), 'fixtures', 'crash-writer.js');

function lastCheckpointIndex(lines: string[]): number {
  let i = lines.length - 1;
  while (i >= 0 && !lines[i]!.includes('"type":"dev.agentrail.log.checkpoint"')) i--;
  return i;
}

async function runAndKill(dir: string, keyFile: string, minBytes: number): Promise<void> {
  const child = spawn(process.execPath, [writer, dir, keyFile, SOURCE], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  const exited = new Promise<void>((r) => child.on('exit', () => r()));
  await new Promise<void>((resolve, reject) => {
    const t = setInterval(() => {
      if (child.exitCode !== null) {
        clearInterval(t);
        reject(new Error(`writer exited early: ${err}`));
      }
      let size = 0;
      try {
        size = segmentFiles(dir).reduce((s, f) => s + statSync(f).size, 0);
      } catch {
        /* not yet created */
      }
      if (size >= minBytes) {
        clearInterval(t);
        resolve();
      }
    }, 5);
  });
  child.kill('SIGKILL');
  await exited;
}

test('SIGKILL while writing (3 rounds): each restart adopts exactly the lines the signed head covers, records the crash, and the log verifies', async () => {
  const keys = makeKeys();
  const ring = parseKeyring(readFileSync(keys.keyring, 'utf8'));
  const dir = tmp();
  let unproven = 0;
  for (let round = 1; round <= 3; round++) {
    await runAndKill(dir, keys.keyFile, round * 100_000);
    const head = readSignedHead(dir);
    assert.ok(head, 'the writer stored a signed head');
    const headSeq = Number(head.split('\n')[1]);
    const linesBefore = logLines(dir).filter((l) => l.endsWith('}'));
    // What a signature covers: the head, or a checkpoint written after it (its own line is signed).
    const adopted = Math.max(headSeq, ...linesBefore.filter((l) => l.includes('"type":"dev.agentrail.log.checkpoint"')).map((l) => Number(JSON.parse(l).sequence)));
    // Before the restart: everything up to the signed head is covered; a kill between the write of
    // a batch and the store of its head leaves at most that batch unsigned (or a torn line).
    const before = await verifyLog(readSource(dir), { keys: ring, signedHead: head, allowUnsignedTail: true });
    assert.ok(before.ok || before.failure!.reason === 'TORN_LINE', JSON.stringify(before.failure));
    const s = await openSealer(dir, keys);
    assert.equal(s.recovery.cleanShutdown, false);
    assert.equal(s.recovery.signedHeadSequence, headSeq, 'the head matches a line of the log');
    assert.ok(Number(JSON.parse(linesBefore.at(-1)!).sequence) >= headSeq);
    s.seal(toolEvent(round));
    await s.close();
    const evs = logLines(dir).map((l) => JSON.parse(l));
    const starts = evs.filter((e) => e.type === 'dev.agentrail.sensor.start');
    assert.equal(starts.length, 2 * round, 'one start per child run and per recovery');
    assert.equal(starts.at(-1).data.reason, 'crash-recovery');
    const gap = evs.filter((e) => e.type === 'dev.agentrail.log.gap').at(-1);
    assert.ok(gap, 'the crash is a signed gap');
    assert.ok(['unclean-stop', 'torn-tail', 'unproven-tail'].includes(gap.data.reason), gap.data.reason);
    // Nothing after the signed head was adopted.
    assert.equal(Number(gap.sequence), adopted + 1, `round ${round}: nothing after the signed head or the last checkpoint was adopted`);
    const r = await verifyLog(readSource(dir), { keys: ring, signedHead: readSignedHead(dir)! });
    if (gap.data.reason === 'unproven-tail') {
      unproven++;
      assert.equal(r.failure?.reason, 'QUARANTINED', 'lines the head did not cover stay reported');
      rmSync(join(dir, gap.data.quarantineFile));
      break; // the log now fails verify by design; later rounds would only repeat that
    }
    assert.equal(r.ok, true, `round ${round}: ${JSON.stringify(r.failure)}`);
  }
  process.stderr.write(`# crash test: ${unproven} kill(s) landed between a write and its signed head\n`);
});

test('SIGKILL, then a key-less attacker appends a correctly chained line: verify says UNSIGNED_TAIL, the restart quarantines it as unproven-tail, verify keeps failing', async () => {
  const keys = makeKeys();
  const ring = parseKeyring(readFileSync(keys.keyring, 'utf8'));
  const dir = tmp();
  await runAndKill(dir, keys.keyFile, 50_000);
  const seg = segmentFiles(dir).at(-1)!;
  // Drop a torn last line, if the kill left one, so the forged line is the only unsigned one.
  const text = readFileSync(seg, 'utf8');
  writeFileSync(seg, text.slice(0, text.lastIndexOf('\n') + 1));
  const head = readSignedHead(dir)!;
  const headSeq = Number(head.split('\n')[1]);
  const lines = logLines(dir);
  const last = lines.at(-1)!;
  const covered = Math.max(headSeq, ...lines.filter((l) => l.includes('"type":"dev.agentrail.log.checkpoint"')).map((l) => Number(JSON.parse(l).sequence)));
  // A kill between a write and the store of its head leaves that batch unvouched, besides the forged line.
  const unvouched = Number(JSON.parse(last).sequence) - covered;
  assert.ok(unvouched >= 0 && unvouched <= 21, `at most one batch unvouched (${unvouched})`);
  const forged = JSON.parse(last) as Record<string, unknown>;
  forged.type = 'dev.agentrail.data.access';
  forged.id = '01JFORGED0000000000000000Z';
  forged.data = { path: { sha256: 'ee'.repeat(32) }, op: 'read', bytes: '1', n: -1 };
  // Chained onto the last line on disk (a checkpoint written after the stored head may be that line).
  forged.sequence = String(Number(JSON.parse(last).sequence) + 1);
  forged.prevhash = createHash('sha256').update(Buffer.from([0])).update(last).digest('hex');
  const { jcs } = await import('../../src/verify/jcs.js');
  appendFileSync(seg, jcs(forged) + '\n');
  const before = await verifyLog(readSource(dir), { keys: ring, signedHead: head, allowUnsignedTail: false });
  assert.equal(before.failure?.reason, 'UNSIGNED_TAIL');
  assert.equal(before.failure?.index, lines.length - unvouched, 'at the first line after the signed head');
  const s = await openSealer(dir, keys);
  assert.equal(s.recovery.signedHeadSequence, headSeq);
  await s.close();
  const after = logLines(dir);
  assert.ok(!after.some((l) => l.includes('01JFORGED')), 'the forged line is not adopted');
  const gap = after.map((l) => JSON.parse(l)).find((e) => e.type === 'dev.agentrail.log.gap');
  assert.equal(gap.data.reason, 'unproven-tail');
  assert.equal(gap.data.detail, 'AFTER_SIGNED_HEAD');
  assert.equal(gap.data.lostLines, unvouched + 1);
  assert.equal(gap.sequence, String(covered + 1));
  assert.equal(readFileSync(join(dir, gap.data.quarantineFile), 'utf8'), [...lines.slice(lines.length - unvouched), jcs(forged)].join('\n') + '\n', 'kept byte for byte');
  const v = await verifyLog(readSource(dir), { keys: ring, signedHead: readSignedHead(dir)! });
  assert.equal(v.failure?.reason, 'QUARANTINED');
});

test('a torn last line is truncated, counted and recorded as log.gap with its byte count', async () => {
  const keys = makeKeys();
  const ring = parseKeyring(readFileSync(keys.keyring, 'utf8'));
  const dir = await buildLog(20, keys);
  const n = logLines(dir).length;
  const last = segmentFiles(dir).at(-1)!;
  const fragment = '{"data":{"arguments":{"bytes":"12';
  appendFileSync(last, fragment);
  const torn = await verifyLog(readSource(dir), { keys: ring });
  assert.equal(torn.failure?.reason, 'TORN_LINE');
  const before = (await drops.get()).values.find((v) => v.labels.stage === 'seal' && v.labels.reason === 'torn_tail')?.value ?? 0;
  const s = await openSealer(dir, keys);
  assert.equal(s.recovery.truncatedLines, 1);
  assert.equal(s.recovery.truncatedBytes, Buffer.byteLength(fragment));
  await s.close();
  const after = (await drops.get()).values.find((v) => v.labels.stage === 'seal' && v.labels.reason === 'torn_tail')?.value ?? 0;
  assert.equal(after - before, 1, 'the truncated line is counted');
  assert.match(await registry.metrics(), /agentrail_dropped_total\{stage="seal",reason="torn_tail"\}/);
  const evs = logLines(dir).map((l) => JSON.parse(l));
  const gap = evs.find((e) => e.type === 'dev.agentrail.log.gap');
  const { quarantineFile, quarantineBytes, quarantineSha256, ...rest } = gap.data;
  assert.deepEqual(rest, { reason: 'torn-tail', lostLines: 1, lostBytes: String(Buffer.byteLength(fragment)), fromSequence: String(n + 1), detail: 'TORN_LINE' });
  // The torn bytes are kept, byte for byte, where the signed gap says.
  const kept = readFileSync(join(dir, quarantineFile));
  assert.equal(kept.toString(), fragment);
  assert.equal(quarantineBytes, String(kept.length));
  assert.equal(quarantineSha256, createHash('sha256').update(kept).digest('hex'));
  assert.equal(gap.sequence, String(n + 1));
  assert.equal(evs[evs.indexOf(gap) + 1].type, 'dev.agentrail.sensor.start');
  assert.equal(evs[evs.indexOf(gap) + 1].data.reason, 'crash-recovery');
  assert.equal((await verifyLog(readSource(dir), { keys: ring })).ok, true);
});

test('clean restart: reason=restart, no gap; corrupt tail beyond the bound refuses to start', async () => {
  const keys = makeKeys();
  const dir = await buildLog(5, keys);
  const n = logLines(dir).length;
  const s = await openSealer(dir, keys);
  assert.equal(s.recovery.cleanShutdown, true);
  await s.close();
  const evs = logLines(dir).map((l) => JSON.parse(l));
  assert.equal(evs.filter((e) => e.type === 'dev.agentrail.sensor.start').at(-1).data.reason, 'restart');
  assert.equal(evs.filter((e) => e.type === 'dev.agentrail.sensor.start').at(-1).data.previousSequence, String(n));
  assert.equal(evs.some((e) => e.type === 'dev.agentrail.log.gap'), false);
  // Corrupt an early line: the bad region (the rest of the log) exceeds a tiny bound.
  const seg = segmentFiles(dir)[0]!;
  const text = readFileSync(seg, 'utf8').replace('"tool-1"', '"tool-X"');
  appendFileSync(seg + '.tmp', text);
  unlinkSync(seg);
  appendFileSync(seg, readFileSync(seg + '.tmp'));
  unlinkSync(seg + '.tmp');
  await assert.rejects(openSealer(dir, keys, { maxTruncateBytes: 100 }), (e: Error & { code?: string }) => e.code === 'SEAL_RECOVERY_CORRUPT');
});

test('retention: with the oldest segments deleted, the sealer re-anchors at a checkpoint and the verifier too', async () => {
  const keys = makeKeys();
  const ring = parseKeyring(readFileSync(keys.keyring, 'utf8'));
  const dir = await buildLog(150, keys);
  const segs = segmentFiles(dir);
  assert.ok(segs.length >= 4);
  unlinkSync(segs[0]!);
  unlinkSync(segs[1]!);
  const first = Number(segs[2]!.match(/(\d{20})\.jsonl$/)![1]);
  const s = await openSealer(dir, keys);
  for (let i = 0; i < 10; i++) s.seal(toolEvent(i));
  await s.close();
  // By default a log that does not start at sequence 1 is not OK: its start could be deleted evidence.
  const strict = await verifyLog(readSource(dir), { keys: ring });
  assert.equal(strict.ok, false);
  assert.equal(strict.failure?.reason, 'TRUNCATED_START');
  const r = await verifyLog(readSource(dir), { keys: ring, allowTruncatedStart: true });
  assert.equal(r.ok, true, JSON.stringify(r.failure));
  assert.equal(r.startSequence, String(first));
  assert.equal(r.startBound, 'unverified');
  assert.ok(Number(r.anchoredFrom) > first);
  assert.ok(r.warnings.some((w) => w.includes(`starts at sequence ${first}`)));
});

test('recovery fully re-checks the unsigned tail: a non-canonical last line and an altered tail line are cut, not adopted', async () => {
  const keys = makeKeys();
  const ring = parseKeyring(readFileSync(keys.keyring, 'utf8'));
  const dir = tmp();
  const s = await openSealer(dir, keys, { checkpointEvents: 1000 });
  for (let i = 0; i < 6; i++) s.seal(toolEvent(i));
  await s.flush(); // a crash: no sensor.stop, the last 6 events are not covered by a checkpoint
  const seg = segmentFiles(dir).at(-1)!;
  const lines = readFileSync(seg, 'utf8').split('\n').slice(0, -1);
  const n = lines.length;
  // 1) The last line re-serialized non-canonically (same JSON value, chain intact).
  lines[n - 1] = JSON.stringify(JSON.parse(lines[n - 1]!), null, 1).replace(/\n/g, '');
  // 2) An earlier tail line altered canonically: its own prevhash is fine, the next line's breaks.
  const k = n - 4;
  lines[k] = lines[k]!.replace('"bytes":"', '"bytes":"9');
  writeFileSync(seg, lines.join('\n') + '\n');
  const cp = lastCheckpointIndex(lines);
  const r = await openSealer(dir, keys);
  assert.equal(r.recovery.badReason, 'PREVHASH_MISMATCH');
  // The chain no longer reaches the signed head, so nothing after the last checkpoint is vouched for.
  assert.equal(r.recovery.truncatedLines, n - cp - 1, 'every line after the last checkpoint');
  await r.close();
  const after = logLines(dir);
  assert.ok(!after.some((l) => l.includes('"bytes":"9')), 'the altered line is not adopted');
  const gap = after.map((l) => JSON.parse(l)).find((e) => e.type === 'dev.agentrail.log.gap');
  assert.equal(gap.data.reason, 'quarantined', 'the signed head had vouched for the altered line');
  assert.equal(gap.data.lostLines, n - cp - 1);
  assert.ok(readFileSync(join(dir, gap.data.quarantineFile), 'utf8').includes('"bytes":"9'), 'the altered line is kept in the quarantine');
  // Lines the sensor could not vouch for were set aside: verify keeps saying so, and where they are.
  const v = await verifyLog(readSource(dir), { keys: ring });
  assert.equal(v.ok, false);
  assert.equal(v.failure?.reason, 'QUARANTINED');
  assert.match(v.failure!.detail, new RegExp(gap.data.quarantineFile));

  // Only a non-canonical last line: cut by the full check of the tail.
  const dir2 = tmp();
  const s2 = await openSealer(dir2, keys, { checkpointEvents: 1000 });
  for (let i = 0; i < 3; i++) s2.seal(toolEvent(i));
  await s2.flush();
  const seg2 = segmentFiles(dir2).at(-1)!;
  const l2 = readFileSync(seg2, 'utf8').split('\n').slice(0, -1);
  l2[l2.length - 1] = l2.at(-1)!.replace('{"data":{', '{ "data":{');
  writeFileSync(seg2, l2.join('\n') + '\n');
  // Without a signed head (deleted), the lines after the last checkpoint are unvouched: all are set aside.
  rmSync(join(dir2, 'head.note'));
  const cp2 = lastCheckpointIndex(l2);
  const r2 = await openSealer(dir2, keys);
  assert.equal(r2.recovery.badReason, 'NOT_CANONICAL');
  assert.equal(r2.recovery.truncatedLines, l2.length - cp2 - 1);
  await r2.close();
  assert.equal((await verifyLog(readSource(dir2), { keys: ring })).failure?.reason, 'QUARANTINED');
});

test('an event that is not JSON is counted and recorded as log.gap (dropped), the chain continues', async () => {
  const keys = makeKeys();
  const dir = tmp();
  const s = await openSealer(dir, keys);
  const bad = toolEvent(1) as unknown as { data: Record<string, unknown> };
  bad.data.count = 10n;
  const out = s.seal(bad as never);
  assert.equal(out.event.type, 'dev.agentrail.log.gap');
  assert.deepEqual(out.event.data, { reason: 'dropped', lostEvents: 1, detail: 'NOT_JSON' });
  s.seal(toolEvent(2));
  await s.close();
  const ring = parseKeyring(readFileSync(keys.keyring, 'utf8'));
  assert.equal((await verifyLog(readSource(dir), { keys: ring })).ok, true);
  assert.match(await registry.metrics(), /agentrail_dropped_total\{stage="seal",reason="not_json"\} 1/);
});

test('laundering by restart: an event appended after a clean stop is never adopted and signed; verify keeps failing', async () => {
  const keys = makeKeys();
  const ring = parseKeyring(readFileSync(keys.keyring, 'utf8'));
  const dir = await buildLog(30, keys);
  const seg = segmentFiles(dir).at(-1)!;
  const lines = readFileSync(seg, 'utf8').split('\n').slice(0, -1);
  // A key-less attacker appends a correctly chained forged event after the final checkpoint.
  const last = lines.at(-1)!;
  const forged = JSON.parse(lines.find((l) => l.includes('"type":"dev.agentrail.tool.invocation"'))!) as Record<string, unknown>;
  forged.id = '01JFORGED0000000000000000Z';
  forged.sequence = String(Number((JSON.parse(last) as { sequence: string }).sequence) + 1);
  forged.prevhash = createHash('sha256').update(Buffer.from([0])).update(last).digest('hex');
  const { jcs } = await import('../../src/verify/jcs.js');
  appendFileSync(seg, jcs(forged) + '\n');
  assert.equal((await verifyLog(readSource(dir), { keys: ring })).failure?.reason, 'UNSIGNED_TAIL');
  const s = await openSealer(dir, keys);
  for (let i = 0; i < 3; i++) s.seal(toolEvent(i));
  await s.close();
  const after = logLines(dir);
  assert.ok(!after.some((l) => l.includes('01JFORGED')), 'the forged event is not in the log any more');
  const gap = after.map((l) => JSON.parse(l)).find((e) => e.type === 'dev.agentrail.log.gap');
  assert.equal(gap.data.reason, 'unproven-tail');
  assert.ok(readFileSync(join(dir, gap.data.quarantineFile), 'utf8').includes('01JFORGED'), 'but kept byte for byte in the quarantine');
  const v = await verifyLog(readSource(dir), { keys: ring });
  assert.equal(v.failure?.reason, 'QUARANTINED', 'the restart did not launder the forgery into a clean log');
});

test('a flipped byte in signed history: the restart quarantines the region instead of deleting it, and verify keeps reporting it', async () => {
  const keys = makeKeys();
  const ring = parseKeyring(readFileSync(keys.keyring, 'utf8'));
  const dir = await buildLog(60, keys, { checkpointEvents: 10 });
  const seg = segmentFiles(dir).at(-1)!;
  const text = readFileSync(seg, 'utf8');
  const lines = text.split('\n').slice(0, -1);
  const k = Math.floor(lines.length / 2);
  lines[k] = lines[k]!.replace('"bytes":"', '"bytes":"7');
  writeFileSync(seg, lines.join('\n') + '\n');
  assert.equal((await verifyLog(readSource(dir), { keys: ring })).failure?.reason, 'PREVHASH_MISMATCH');
  const s = await openSealer(dir, keys);
  await s.close();
  const evs = logLines(dir).map((l) => JSON.parse(l));
  const gap = evs.find((e) => e.type === 'dev.agentrail.log.gap');
  assert.equal(gap.data.reason, 'quarantined', 'damage inside signed history');
  const kept = readFileSync(join(dir, gap.data.quarantineFile), 'utf8');
  assert.ok(kept.includes('"bytes":"7'), 'the tampered line is kept');
  assert.ok(kept.split('\n').filter((l) => l.includes('dev.agentrail.log.checkpoint')).length >= 1, 'with the signed checkpoints after it');
  const v = await verifyLog(readSource(dir), { keys: ring });
  assert.equal(v.ok, false, 'detectable tampering never becomes a clean log');
  assert.equal(v.failure?.reason, 'QUARANTINED');
});

test('an unclean stop (no sensor.stop: SIGKILL, OOM) is recorded at the next start as a signed gap with the last durable sequence and time; verify says so', async () => {
  const keys = makeKeys();
  const ring = parseKeyring(readFileSync(keys.keyring, 'utf8'));
  const dir = tmp();
  const s = await openSealer(dir, keys, { checkpointEvents: 5 });
  for (let i = 0; i < 12; i++) s.seal(toolEvent(i));
  await s.flush(); // killed here: no sensor.stop, no final checkpoint
  const lines = logLines(dir);
  const last = JSON.parse(lines.at(-1)!) as { sequence: string; time: string };
  const r = await openSealer(dir, keys);
  await r.close();
  const evs = logLines(dir).map((l) => JSON.parse(l));
  const gap = evs.find((e) => e.type === 'dev.agentrail.log.gap');
  assert.ok(gap, 'a gap record');
  assert.equal(gap.data.reason, 'unclean-stop');
  assert.equal(gap.data.fromSequence, String(Number(last.sequence) + 1));
  assert.equal(gap.data.lastDurableTime, last.time);
  const v = await verifyLog(readSource(dir), { keys: ring });
  assert.equal(v.ok, true, JSON.stringify(v.failure));
  assert.ok(v.warnings.some((w) => w.includes('unclean-stop') && w.includes(last.time)), v.warnings.join('; '));
});

test('lines the previous run signed as written are missing (the log cut back to a checkpoint while the sensor was down): a signed signed-lines-missing gap, verify keeps failing', async () => {
  const keys = makeKeys();
  const ring = parseKeyring(readFileSync(keys.keyring, 'utf8'));
  const dir = await crashedLog(12, keys, { checkpointEvents: 5 });
  const head = readSignedHead(dir)!;
  const headSeq = Number(head.split('\n')[1]);
  const lines = logLines(dir);
  assert.equal(headSeq, lines.length);
  // A key-less attacker cuts the log back to its last checkpoint: what is left verifies on its own.
  const cp = lastCheckpointIndex(lines);
  assert.ok(cp < lines.length - 1);
  const segs = segmentFiles(dir);
  for (const f of segs) unlinkSync(f);
  writeFileSync(segs[0]!, lines.slice(0, cp + 1).join('\n') + '\n');
  assert.equal((await verifyLog(readSource(dir), { keys: ring })).ok, true, 'the cut log alone looks complete');
  assert.equal((await verifyLog(readSource(dir), { keys: ring, signedHead: head })).failure?.reason, 'TRUNCATED', 'the signed head says otherwise');
  const r = await openSealer(dir, keys);
  await r.close();
  const gap = logLines(dir)
    .map((l) => JSON.parse(l))
    .find((e) => e.type === 'dev.agentrail.log.gap');
  assert.deepEqual(gap.data, { reason: 'signed-lines-missing', lostEvents: lines.length - cp - 1, fromSequence: String(cp + 2), toSequence: String(headSeq), detail: 'HEAD_AHEAD_OF_LOG' });
  const v = await verifyLog(readSource(dir), { keys: ring, signedHead: readSignedHead(dir)! });
  assert.equal(v.failure?.reason, 'QUARANTINED');
  assert.match(v.failure!.detail, /shorter than the chain head its sensor had signed/);
});

test('unvouched complete lines followed by a torn line (a kill mid-write with no head stored): one unproven-tail gap for all of them', async () => {
  const keys = makeKeys();
  const dir = await crashedLog(5, keys, { checkpointEvents: 1000 });
  rmSync(join(dir, 'head.note'));
  const n = logLines(dir).length;
  appendFileSync(segmentFiles(dir).at(-1)!, '{"data":{"to');
  const r = await openSealer(dir, keys);
  await r.close();
  const gap = logLines(dir)
    .map((l) => JSON.parse(l))
    .find((e) => e.type === 'dev.agentrail.log.gap');
  assert.equal(gap.data.reason, 'unproven-tail');
  assert.equal(gap.data.detail, 'NO_SIGNED_HEAD');
  assert.equal(gap.data.lostLines, 5 + 1, 'the five lines after the checkpoint and the torn one');
  assert.equal(gap.sequence, String(n - 5 + 1));
  assert.ok(gap.data.lastDurableTime, 'with the time of the last line adopted');
});
