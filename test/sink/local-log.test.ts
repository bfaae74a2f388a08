import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { LocalLog, segmentName } from '../../src/sink/local-log.js';
import { registry } from '../../src/observability/metrics.js';
import { openSealed, sealEvents, tmpDir, verifyDir } from './sealed.js';

async function metricValue(name: string): Promise<number> {
  const m = (await registry.getMetricsAsJSON()).find((x) => x.name === name);
  return (m?.values ?? []).reduce((a, v) => a + Number(v.value), 0);
}

test('sealed events through LocalLog: segments named by first sequence, chain verifies', async () => {
  const dir = tmpDir();
  const { log, sealer } = await openSealed(dir, { segmentBytes: 16 * 1024 });
  await sealEvents(sealer, 600);
  await sealer.close();
  const segs = log.segments();
  assert.ok(segs.length > 3, `expected several segments, got ${segs.length}`);
  let expectNext: bigint | undefined;
  let total = 0;
  for (const s of segs) {
    const lines = readFileSync(join(dir, 'segments', `${s}.jsonl`), 'utf8').split('\n');
    assert.equal(lines.at(-1), '', 'every segment ends with a newline');
    const seqs = lines.slice(0, -1).map((l) => BigInt((JSON.parse(l) as { sequence: string }).sequence));
    assert.equal(s, segmentName(seqs[0]!), 'segment name = sequence of its first line');
    if (expectNext !== undefined) assert.equal(seqs[0], expectNext, 'segments are contiguous');
    expectNext = seqs.at(-1)! + 1n;
    total += seqs.length;
  }
  const rep = await verifyDir(dir);
  assert.equal(rep.ok, true, JSON.stringify(rep.failure));
  assert.equal(rep.lines, total);
  assert.ok(total > 600);
});

test('scan() yields every line in order; read() pages from a position', async () => {
  const dir = tmpDir();
  const { log, sealer } = await openSealed(dir, { segmentBytes: 8 * 1024 });
  await sealEvents(sealer, 200);
  await sealer.flush();
  const all = [...log.scan()];
  const seqs = all.map((e) => Number((JSON.parse(e.line) as { sequence: string }).sequence));
  assert.deepEqual(seqs, seqs.map((_, i) => i + 1));
  // Page through with read() and compare.
  let pos = log.start();
  const paged: string[] = [];
  for (;;) {
    const b = log.read(pos, 37);
    if (b.length === 0) break;
    paged.push(...b.map((e) => e.line));
    pos = b.at(-1)!.next;
  }
  assert.deepEqual(paged, all.map((e) => e.line));
  // A second reader process view (read-only) sees the same lines.
  const ro = new LocalLog(dir, { readOnly: true });
  assert.equal([...ro.scan()].length, all.length);
  await sealer.close();
});

test('cursors are durable, atomic (no temp files left) and survive reopen', async () => {
  const dir = tmpDir();
  const { log, sealer } = await openSealed(dir);
  await sealEvents(sealer, 50);
  await sealer.close();
  const entries = [...log.scan()];
  const mid = entries[20]!;
  log.writeCursor('kafka', mid.next, '21');
  assert.deepEqual(readdirSync(join(dir, 'cursors')), ['kafka.json']);
  const again = new LocalLog(dir, { readOnly: true });
  const c = again.readCursor('kafka')!;
  assert.equal(c.segment, mid.next.segment);
  assert.equal(c.offset, mid.next.offset);
  assert.equal(c.sequence, '21');
  const rest = again.read(c, 10_000);
  assert.equal(rest.length, entries.length - 21);
  assert.equal(rest[0]!.line, entries[21]!.line);
  assert.throws(() => again.writeCursor('../evil', mid.next), /bad cursor name/);
});

test('a torn last line after a crash is repaired by the sealer through truncateTail; log verifies', async () => {
  const dir = tmpDir();
  {
    const { log, sealer } = await openSealed(dir);
    await sealEvents(sealer, 30);
    // Simulate SIGKILL in the middle of a write: half a line, no newline, no clean stop.
    const last = log.segments().at(-1)!;
    log.closeSync();
    appendFileSync(join(dir, 'segments', `${last}.jsonl`), '{"data":{"half":');
  }
  const ro = new LocalLog(dir, { readOnly: true });
  const lines = [...ro.existingLines()];
  assert.equal(lines.at(-1)!.terminated, false, 'torn line is reported unterminated');
  const { log, sealer } = await openSealed(dir);
  await sealEvents(sealer, 10);
  await sealer.close();
  const types = [...log.scan()].map((e) => JSON.parse(e.line) as { type: string; data: { reason?: string } });
  const gap = types.find((e) => e.type === 'dev.agentrail.log.gap');
  assert.ok(gap, 'a log.gap record states the repair');
  assert.equal(gap.data.reason, 'torn-tail');
  const rep = await verifyDir(dir);
  assert.equal(rep.ok, true, JSON.stringify(rep.failure));
});

test('fsync policies: always / interval / never all persist readable lines; bad lines are refused', async () => {
  for (const fsync of ['always', 50, 'never'] as const) {
    const dir = tmpDir();
    const log = new LocalLog(dir, { fsync });
    log.appendLines(['{"a":1}', '{"a":2}']);
    if (typeof fsync === 'number') await new Promise((r) => setTimeout(r, 120));
    assert.equal(readFileSync(join(dir, 'segments', log.segments()[0]! + '.jsonl'), 'utf8'), '{"a":1}\n{"a":2}\n');
    assert.throws(() => log.appendLines(['{"a":\n3}']), /newline/);
    log.closeSync();
  }
});

test('retention deletes shipped segments only; the unshipped tail stays while a cursor is behind', async () => {
  const dir = tmpDir();
  const { log, sealer } = await openSealed(dir, { segmentBytes: 8 * 1024, retentionBytes: 24 * 1024, maxBytes: 10 * 1024 * 1024 });
  log.ensureCursor('kafka'); // a consumer at the start: nothing may go
  await sealEvents(sealer, 400);
  await sealer.flush();
  log.enforceBounds();
  const first = log.segments()[0]!;
  assert.equal(first, segmentName(1), 'unshipped segments are kept beyond retentionBytes');
  const before = log.state().bytes;
  assert.ok(before > 24 * 1024);
  // The consumer catches up: now retention may delete down to the bound (keeping the checkpoint segment).
  log.writeCursor('kafka', log.end());
  log.enforceBounds();
  const after = log.state().bytes;
  assert.ok(after < before, `retention freed space (${before} → ${after})`);
  assert.notEqual(log.segments()[0], segmentName(1));
  const rep = await verifyDir(dir, false, true);
  assert.equal(rep.ok, true, JSON.stringify(rep.failure));
  assert.ok(Number(rep.startSequence) > 1, 'the log now starts later and still verifies');
  await sealer.close();
});

test('retention by age removes old shipped segments', async () => {
  const dir = tmpDir();
  const { log, sealer } = await openSealed(dir, { segmentBytes: 8 * 1024, retentionMs: 1000 });
  await sealEvents(sealer, 300);
  await sealer.flush();
  const n = log.segments().length;
  log.enforceBounds(Date.now() + 60_000); // "a minute later", no consumers registered
  assert.ok(log.segments().length < n, 'aged segments were deleted');
  assert.equal((await verifyDir(dir, false, true)).ok, true);
  await sealer.close();
});

test('disk bound: oldest unshipped data goes, one signed counted log.gap says so, shedding signalled, log verifies', async () => {
  const dir = tmpDir();
  const gapsBefore = await metricValue('agentrail_log_gap_total');
  let sealerRef: Awaited<ReturnType<typeof openSealed>>['sealer'] | undefined;
  const gaps: Array<{ lostEvents: number }> = [];
  const { log, sealer } = await openSealed(dir, {
    segmentBytes: 8 * 1024,
    retentionBytes: 16 * 1024,
    maxBytes: 48 * 1024,
    onGap: (g) => {
      gaps.push(g);
      sealerRef!.recordGap({ reason: 'disk-bound', lostEvents: g.lostEvents, fromSequence: Number(g.fromSequence), toSequence: Number(g.toSequence), detail: 'unshipped-deleted' });
    },
  });
  sealerRef = sealer;
  log.ensureCursor('kafka'); // the shipper never moves: broker down for good
  let sawShed = false;
  log.on('shedding', (s: boolean) => (sawShed ||= s));
  for (let i = 0; i < 8; i++) {
    await sealEvents(sealer, 100);
    await new Promise((r) => setImmediate(r)); // let the deferred gap writer run
  }
  await sealer.flush();
  assert.ok(gaps.length >= 1, 'the bound was reached');
  const firstKept = Number((JSON.parse([...log.scan()][0]!.line) as { sequence: string }).sequence);
  // Nothing was consumed: everything before the first kept line was deleted unshipped, and counted.
  assert.equal((await metricValue('agentrail_log_gap_total')) - gapsBefore, firstKept - 1, 'loss is counted in agentrail_log_gap_total');
  assert.ok(log.state().bytes <= 48 * 1024 + 8 * 1024, `disk use stays near the bound (${log.state().bytes})`);
  assert.ok(sawShed, 'shouldShed() turned on while unshipped data filled the bound');
  assert.equal(log.shouldShed(), true);
  const events = [...log.scan()].map((e) => JSON.parse(e.line) as { type: string; data: { reason?: string; lostEvents?: number } });
  const gapEvents = events.filter((e) => e.type === 'dev.agentrail.log.gap' && e.data.reason === 'disk-bound');
  assert.ok(gapEvents.length >= 1, 'a sealed log.gap (disk-bound) is in the log');
  assert.equal(gapEvents.at(-1)!.data.lostEvents, gaps.at(-1)!.lostEvents);
  // The cursor was moved past the deleted data (counted), so the shipper resumes at the first kept line.
  const c = log.readCursor('kafka')!;
  assert.ok(c.segment >= log.segments()[0]!);
  const live = await verifyDir(dir, true, true);
  assert.equal(live.ok, true, JSON.stringify(live.failure));
  // The consumer catches up: shedding stops.
  log.writeCursor('kafka', log.end());
  log.enforceBounds();
  assert.equal(log.shouldShed(), false);
  await sealer.close();
  assert.ok(statSync(dir).isDirectory());
  const rep = await verifyDir(dir, false, true);
  assert.equal(rep.ok, true, JSON.stringify(rep.failure));
  assert.ok(Number(rep.startSequence) > 1);
});

test('follow() yields lines as they are appended (tail -f of the local log) and stops on abort', async () => {
  const dir = tmpDir();
  const { log, sealer } = await openSealed(dir, { segmentBytes: 4096 });
  await sealer.flush();
  const reader = new LocalLog(dir, { readOnly: true });
  const ac = new AbortController();
  const got: string[] = [];
  const done = (async () => {
    for await (const e of reader.follow(reader.end(), { signal: ac.signal, pollMs: 20 })) {
      got.push((JSON.parse(e.line) as { sequence: string }).sequence);
      if (got.length === 60) ac.abort();
    }
  })();
  const startSeq = sealer.sequence;
  await sealEvents(sealer, 60, 7);
  await Promise.race([done, new Promise((_, rej) => setTimeout(() => rej(new Error('follow timed out')), 10_000))]);
  assert.deepEqual(got, Array.from({ length: 60 }, (_, i) => String(startSeq + 1 + i)).slice(0, 60), 'in order, across segment rolls');
  assert.ok(log.segments().length > 1);
  await sealer.close();
});

test('openSink wires the local log, the stdout copy and the shipper from the sink config', async () => {
  const { sinkSchema } = await import('../../src/config/sink.js');
  const { openSink } = await import('../../src/sink/index.js');
  const dir = tmpDir();
  const cfg = sinkSchema.parse({ local: { dir, fsync: 'always' } });
  assert.equal(cfg.kafka.enabled, false);
  assert.equal(cfg.kafka.mode, 'binary');
  assert.equal(cfg.kafka.compression, 'gzip');
  const sink = openSink(cfg);
  assert.equal(sink.shipper, undefined, 'no broker configured: the local log is the product');
  await sink.start();
  assert.equal(sink.shouldShed(), false);
  await sink.close();
  assert.throws(() => sinkSchema.parse({ kafka: { brokerz: [] } }), /brokerz/);
  // Kafka configured but down at start: the sensor starts anyway; the log holds everything.
  const down = openSink(sinkSchema.parse({ local: { dir: tmpDir() }, kafka: { enabled: true, brokers: ['127.0.0.1:9'], connectionTimeoutMs: 500 } }));
  assert.ok(down.shipper);
  await down.start();
  await down.close();
  // A bad TLS file is a configuration error at startup, in one line.
  assert.throws(() => openSink(sinkSchema.parse({ local: { dir: tmpDir() }, kafka: { enabled: true, brokers: ['127.0.0.1:9'], tls: { caFile: '/nonexistent.pem' } } })), /CONFIG_KAFKA_TLS|cannot read sink\.kafka\.tls\.caFile/);
});
