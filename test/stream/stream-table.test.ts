import test from 'node:test';
import assert from 'node:assert/strict';
import { StreamTable, type StreamConsumer } from '../../src/stream/stream-table.js';
import { protocolOptions } from '../../src/contracts/protocol-options.js';
import { StageStats } from '../../src/observability/stage-stats.js';
import type { StreamRef } from '../../src/contracts/exchange.js';
import { Capture, pipeEvent } from '../protocol/capture.js';

class Recorder implements StreamConsumer {
  log: string[] = [];
  bytes: Buffer[] = [[], []].map(() => Buffer.alloc(0));
  held = 0;
  constructor(readonly ref: StreamRef) {}
  data(dir: 0 | 1, buf: Buffer): void {
    this.bytes[dir] = Buffer.concat([this.bytes[dir]!, buf]);
    this.log.push(`d${dir}:${buf.length}`);
    this.held += buf.length;
  }
  gap(dir: 0 | 1, n: number): void {
    this.log.push(`g${dir}:${n}`);
  }
  reset(): void {
    this.log.push('reset');
    this.held = 0;
  }
  close(_ts: bigint, reason: string): void {
    this.log.push(`close:${reason}`);
  }
  buffered(): number {
    return this.held;
  }
}

function table(o = {}) {
  const recs = new Map<string, Recorder>();
  const stats = new StageStats();
  const t = new StreamTable(protocolOptions(o), stats, (ref) => {
    const r = new Recorder(ref);
    recs.set(ref.key, r);
    return r;
  });
  return { t, recs, stats };
}

test('TLS calls are reassembled per (pid, SSL*) and direction, chunks reordered', () => {
  const { t, recs } = table();
  const c = new Capture(5, 0xabcn, 3);
  const data = Buffer.from(Array.from({ length: 10000 }, (_, i) => i & 0xff));
  for (const e of c.call(0, data, { reorder: true })) t.push(e);
  for (const e of c.call(1, Buffer.from('pong'))) t.push(e);
  const r = recs.get('tls:5:abc')!;
  assert.deepEqual(r.bytes[0], data);
  assert.equal(r.bytes[1]!.toString(), 'pong');
  assert.deepEqual(r.log, ['d0:10000', 'd1:4']);
  assert.equal(r.ref.fd, 3);
  assert.equal(r.ref.transport, 'tls');
});

test('capture truncation and lost chunks become exact gaps', () => {
  const { t, recs, stats } = table({ tlsCaptureCap: 8192 });
  const c = new Capture(5, 1n, 3, 8192);
  for (const e of c.call(0, Buffer.alloc(30000, 1))) t.push(e);
  for (const e of c.call(0, Buffer.alloc(12000, 2), { dropChunk: 1 })) t.push(e);
  t.closeAll(0n);
  assert.deepEqual(recs.get('tls:5:1')!.log, ['d0:8192', 'g0:21808', 'd0:4096', 'g0:7904', 'close:flush']);
  assert.equal(stats.drops['stream.call_truncated'], 1);
  assert.equal(stats.drops['stream.chunk_missing'], 1);
});

const SEC = 1_000_000_000n;

test('pipes: keyed by inode, every pid that touches the pipe recorded, closed 2 s after the last one exits', () => {
  const { t, recs } = table();
  t.push(pipeEvent(10, 99n, 0, Buffer.from('{"a":1}\n'), 1n));
  t.push(pipeEvent(11, 99n, 1, Buffer.from('{"a":1}\n'), 2n));
  const r = recs.get('pipe:99')!;
  assert.equal(r.ref.transport, 'pipe');
  assert.deepEqual(r.log, ['d0:8', 'd1:8']);
  t.procExited(10, 3n);
  assert.equal(t.size, 1);
  t.procExited(11, 4n);
  t.expire(4n + SEC);
  assert.equal(t.size, 1, 'still open within the linger');
  t.expire(4n + 2n * SEC);
  assert.equal(t.size, 0);
  assert.equal(r.log.at(-1), 'close:proc_exit');
});

test('pipes: a reader whose records come after the writer exited continues the same conversation', () => {
  const { t, recs } = table();
  // The tool writes its answer and exits; the agent reads it from the pipe buffer afterwards.
  t.push(pipeEvent(21, 77n, 0, Buffer.from('ANSWER\n'), 1n));
  t.procExited(21, 2n);
  t.expire(2n + SEC / 2n);
  t.push(pipeEvent(20, 77n, 1, Buffer.from('ANSWER\n'), 2n + SEC / 2n));
  const r = recs.get('pipe:77')!;
  assert.deepEqual(r.log, ['d0:7', 'd1:7'], 'one stream, both sides');
  t.expire(10n * SEC);
  assert.equal(t.size, 1, 'the reader is alive: no linger');
  t.procExited(20, 11n * SEC);
  t.expire(13n * SEC);
  assert.equal(t.size, 0);
});

test('tls.pair gives the fd later; a close of that fd ends the stream; idle streams expire', () => {
  const { t, recs } = table({ idleTimeoutNs: 1000n });
  const c = new Capture(7, 2n, -1);
  for (const e of c.call(0, Buffer.from('x'))) t.push(e);
  const r = recs.get('tls:7:2')!;
  assert.equal(r.ref.fd, -1);
  t.pair({ kind: 'tls.pair', op: 31, version: 1, ktimeNs: 1n, pid: 7, tid: 7, cgroupId: 1n, sslPtr: 2n, fd: 12, how: 2 });
  assert.equal(r.ref.fd, 12);
  t.fdClosed(7, 11, 5n);
  assert.equal(t.size, 1);
  t.fdClosed(7, 12, 5n);
  assert.equal(t.size, 0);
  assert.equal(r.log.at(-1), 'close:fd_close');
  const c2 = new Capture(8, 3n, 4);
  for (const e of c2.call(0, Buffer.from('y'))) t.push(e);
  t.expire(c2.t + 500n);
  assert.equal(t.size, 1);
  t.expire(c2.t + 1001n);
  assert.equal(t.size, 0);
});

test('per-stream and total caps: counted drop and consumer reset', () => {
  const { t, recs, stats } = table({ streamBufferCap: 10_000, totalBufferCap: 15_000 });
  const a = new Capture(1, 1n, 1);
  const b = new Capture(2, 2n, 2);
  for (let i = 0; i < 3; i++) for (const e of a.call(0, Buffer.alloc(4_000))) t.push(e);
  assert.equal(stats.drops['stream.stream_buffer_cap'], 1);
  assert.ok(recs.get('tls:1:1')!.log.includes('reset'));
  for (const e of a.call(0, Buffer.alloc(9_000))) t.push(e);
  for (const e of b.call(0, Buffer.alloc(9_000))) t.push(e);
  assert.equal(stats.drops['stream.total_buffer_cap'], 1);
  assert.ok(recs.get('tls:2:2')!.log.includes('reset'));
  assert.ok(t.totalBuffered() <= 15_000);
});

test('the stream count is bounded: connections never closed evict the oldest-opened one, counted, with its data delivered', () => {
  const { t, recs, stats } = table({ maxStreams: 16 });
  // 40 TLS connections that send one request each and never close (an agent leaking sockets).
  for (let i = 0; i < 40; i++) {
    const c = new Capture(7, BigInt(0x1000 + i), 3 + i);
    for (const e of c.call(0, Buffer.from(`GET /${i}`))) t.push(e);
    assert.ok(t.size <= 16, `table holds ${t.size} streams after ${i + 1} connections`);
  }
  assert.equal(t.size, 16);
  assert.equal(stats.drops['stream.stream_table_full'], 24);
  assert.equal(stats.counts['streams_closed_evicted'], 24);
  // The evicted ones are the first 24 opened, each closed after its bytes were handed on.
  for (let i = 0; i < 40; i++) {
    const r = recs.get(`tls:7:${(0x1000 + i).toString(16)}`)!;
    assert.equal(r.bytes[0]!.toString(), `GET /${i}`);
    assert.equal(r.log.includes('close:evicted'), i < 24, `stream ${i}: ${r.log.join(',')}`);
  }
  // A stream still open keeps working after the evictions.
  const last = new Capture(7, BigInt(0x1000 + 39), 42);
  for (const e of last.call(1, Buffer.from('200 OK'))) t.push(e);
  assert.equal(recs.get('tls:7:1027')!.bytes[1]!.toString(), '200 OK');
});
