import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodeBatch, type DecodeStats } from '../../src/decode/decode-batch.js';
import { scanRecords } from '../../src/native/records/framing.js';
import { encodeBatch, encodeEvent } from '../../src/native/records/encode.js';
import { formatAddr, parseAddr, AF_INET6 } from '../../src/native/records/net-conn.js';
import { ABI_LAYOUT, AR_PATH_MAX, Flag, OP_NAMES, Op, OP_STRUCT } from '../../src/native/abi.js';
import { CODECS } from '../../src/native/records/registry.js';
import { stageErrors } from '../../src/observability/metrics.js';
import { arbitraryByKind, arbitraryRawEvent, sampleEvents } from '../helpers/raw-samples.js';

const stats = (): DecodeStats => ({ records: 0, errors: {} });

test('every ABI op has exactly one codec and every codec op is in the ABI', () => {
  const covered = CODECS.flatMap((c) => c.ops).sort((a, b) => a - b);
  assert.deepEqual(covered, Object.values(Op).sort((a, b) => a - b));
  for (const c of CODECS) for (const op of c.ops) assert.equal(OP_STRUCT[op], c.struct);
});

test('record sizes are multiples of 8 and match the struct size for fixed ops', () => {
  for (const ev of sampleEvents()) {
    const b = encodeEvent(ev);
    assert.equal(b.length % 8, 0, ev.kind);
    assert.equal(b.readUInt32LE(4), b.length, ev.kind);
    if (ev.kind !== 'tls.data' && ev.kind !== 'pipe.data' && ev.kind !== 'net.peek') assert.equal(b.length, ABI_LAYOUT[OP_STRUCT[ev.op]!]!.size, ev.kind);
  }
});

test('samples round-trip through encode → decodeBatch', () => {
  const events = sampleEvents();
  const s = stats();
  const back = decodeBatch(encodeBatch(events), s);
  assert.deepEqual(back, events);
  assert.equal(s.records, events.length);
  assert.deepEqual(s.errors, {});
});

for (const [kind, arb] of Object.entries(arbitraryByKind)) {
  test(`round trip (property) for ${kind}`, () => {
    fc.assert(
      fc.property(arb, (ev) => {
        const back = decodeBatch(encodeEvent(ev));
        assert.deepEqual(back, [ev]);
      }),
      { numRuns: 150 },
    );
  });
}

test('round trip of mixed batches (property)', () => {
  fc.assert(
    fc.property(fc.array(arbitraryRawEvent, { maxLength: 30 }), (events) => {
      const buf = encodeBatch(events);
      assert.deepEqual(decodeBatch(buf), events);
      assert.equal(scanRecords(buf).count, events.length);
    }),
    { numRuns: 100 },
  );
});

test('truncation is applied and flagged like the kernel does', () => {
  const [exec] = sampleEvents();
  assert.ok(exec && exec.kind === 'proc.exec');
  const long = { ...exec, filename: '/x'.repeat(200), args: Array.from({ length: 100 }, (_, i) => `argument-${i}`) };
  const [back] = decodeBatch(encodeEvent(long));
  assert.ok(back && back.kind === 'proc.exec');
  assert.equal(Buffer.byteLength(back.filename), AR_PATH_MAX - 1);
  assert.ok(back.flags & Flag.ARGS_TRUNCATED);
  assert.ok(back.flags & Flag.PATH_TRUNCATED);
  assert.ok(back.args.length < 100 && back.args[0] === 'argument-0');
  const open = sampleEvents().find((e) => e.kind === 'file.open');
  assert.ok(open && open.kind === 'file.open');
  const [o2] = decodeBatch(encodeEvent({ ...open, path: 'p'.repeat(400) }));
  assert.ok(o2 && o2.kind === 'file.open' && o2.pathTruncated && o2.path.length === AR_PATH_MAX - 1);
});

test('ipv6 formatting is RFC 5952 and parse inverts it', () => {
  const cases = ['::1', '::', 'fe80::1:2', '2001:db8::8:800:200c:417a', '1:0:1:0:1:0:1:0', '::ffff:a00:1'];
  for (const c of cases) assert.equal(formatAddr(AF_INET6, parseAddr(AF_INET6, c)), c);
  assert.equal(formatAddr(AF_INET6, parseAddr(AF_INET6, '::ffff:10.0.0.1')), '::ffff:a00:1');
});

function errorsCounted(reason: string): number {
  const m = (stageErrors as unknown as { hashMap: Record<string, { value: number; labels: Record<string, string> }> }).hashMap;
  return Object.values(m).filter((v) => v.labels.stage === 'decode' && v.labels.reason === reason).reduce((a, v) => a + v.value, 0);
}

test('malformed batches become counted decode errors, never exceptions', () => {
  const good = encodeBatch(sampleEvents().slice(0, 3));
  const n = 3;
  const cases: Array<[string, Buffer, number, string]> = [];
  // size 0 in the 2nd record: the walk stops after the first.
  const z = Buffer.from(good);
  z.writeUInt32LE(0, z.readUInt32LE(4) + 4);
  cases.push(['size 0', z, 1, 'size_zero']);
  // size past the end.
  const p = Buffer.from(good);
  p.writeUInt32LE(1 << 30, 4);
  cases.push(['size past end', p, 0, 'size_past_end']);
  // size smaller than a header.
  const sm = Buffer.from(good);
  sm.writeUInt32LE(8, 4);
  cases.push(['size < header', sm, 0, 'size_too_small']);
  // unknown op: skipped by size, the rest decodes.
  const u = Buffer.from(good);
  u.writeUInt16LE(999, 0);
  cases.push(['unknown op', u, n - 1, 'unknown_op']);
  // unknown version: skipped.
  const v = Buffer.from(good);
  v.writeUInt16LE(77, 2);
  cases.push(['unknown version', v, n - 1, 'unknown_version']);
  // truncated tail.
  cases.push(['truncated batch', good.subarray(0, good.length - 5), n - 1, 'size_past_end']);
  cases.push(['dangling bytes', Buffer.concat([good, Buffer.alloc(7, 1)]), n, 'truncated_header']);
  // a record of a known op shorter than its struct.
  const short = Buffer.alloc(40);
  short.writeUInt16LE(Op.PROC_EXEC, 0);
  short.writeUInt16LE(1, 2);
  short.writeUInt32LE(40, 4);
  cases.push(['short record', Buffer.concat([short, good]), n, 'short_record']);
  // tls.data whose chunk_len points past its record.
  const tls = sampleEvents().find((e) => e.kind === 'tls.data')!;
  const tb = encodeEvent(tls);
  tb.writeUInt32LE(1_000_000, 52);
  cases.push(['chunk_len past record', Buffer.concat([tb, good]), n, 'chunk_len_past_record']);

  for (const [name, buf, expect, reason] of cases) {
    const before = errorsCounted(reason);
    const s = stats();
    const out = decodeBatch(buf, s);
    assert.equal(out.length, expect, name);
    assert.equal(s.errors[reason], 1, `${name}: ${JSON.stringify(s.errors)}`);
    assert.equal(errorsCounted(reason), before + 1, `${name}: metric`);
  }
  assert.deepEqual(decodeBatch(Buffer.alloc(0)), []);
});

test('fuzz: garbage bytes never throw and the walk terminates', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 4096 }), (bytes) => {
      const out = decodeBatch(Buffer.from(bytes));
      assert.ok(Array.isArray(out));
      scanRecords(Buffer.from(bytes));
    }),
    { numRuns: 2000 },
  );
});

test('fuzz: valid batches with flipped bytes never throw', () => {
  fc.assert(
    fc.property(fc.array(arbitraryRawEvent, { minLength: 1, maxLength: 8 }), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 20 }), (events, flips) => {
      const buf = encodeBatch(events);
      for (const [i, val] of flips) buf[i % buf.length] = val;
      const out = decodeBatch(buf);
      assert.ok(out.length <= events.length + buf.length / 32);
      for (const e of out) assert.ok(OP_NAMES[e.op]);
    }),
    { numRuns: 500 },
  );
});
