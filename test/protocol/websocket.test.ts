import test from 'node:test';
import assert from 'node:assert/strict';
import zlib from 'node:zlib';
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { WebSocketParser, negotiatedDeflate, type WsMessage, type WsOptions } from '../../src/protocol/websocket.js';
import { StageStats } from '../../src/observability/stage-stats.js';
import { deflater, frame } from './ws-frames.js';

function run(bytes: Buffer | Buffer[], opts: Partial<WsOptions> = {}): { msgs: WsMessage[]; stats: StageStats } {
  const stats = new StageStats();
  const msgs: WsMessage[] = [];
  const p = new WebSocketParser({ fromClient: true, maxMessageBytes: 1 << 20, ...opts }, stats, (m) => msgs.push(m));
  for (const c of Array.isArray(bytes) ? bytes : [bytes]) p.push(c);
  p.end();
  return { msgs, stats };
}

const text = (m: WsMessage | undefined): string => (m && 'data' in m ? m.data.toString() : `<${m?.kind}>`);

test('RFC 6455 §5.7 examples: unmasked, masked, fragmented, ping, 256-byte and 64 KiB lengths', () => {
  // The spec's own bytes for "Hello".
  assert.equal(text(run(Buffer.from('810548656c6c6f', 'hex'), { fromClient: false }).msgs[0]), 'Hello');
  assert.equal(text(run(Buffer.from('818537fa213d7f9f4d5158', 'hex')).msgs[0]), 'Hello');
  const frag = run(Buffer.from('010348656c80026c6f', 'hex'), { fromClient: false });
  assert.deepEqual(frag.msgs.map(text), ['Hello']);
  assert.deepEqual(run(Buffer.from('890548656c6c6f', 'hex'), { fromClient: false }).msgs, [{ kind: 'ping' }]);
  for (const n of [256, 65536]) {
    const data = randomBytes(n);
    const { msgs } = run(frame(2, data));
    assert.ok(msgs[0]?.kind === 'binary' && msgs[0].data.equals(data));
  }
});

test('control frames interleave inside a fragmented message; close carries its code', () => {
  const close = Buffer.alloc(2);
  close.writeUInt16BE(1000);
  const { msgs, stats } = run([frame(1, Buffer.from('{"type":'), { fin: false }), frame(9, Buffer.alloc(0)), frame(0, Buffer.from('"x"}')), frame(8, close)]);
  assert.deepEqual(msgs.map((m) => m.kind), ['ping', 'text', 'close']);
  assert.equal(text(msgs[1]), '{"type":"x"}');
  assert.deepEqual(msgs[2], { kind: 'close', code: 1000 });
  assert.deepEqual(stats.snapshot().errors, {});
});

test('protocol violations are counted by reason and stop the direction', () => {
  const cases: Array<[Buffer, string]> = [
    [frame(3, Buffer.from('x')), 'protocol.ws_bad_opcode'],
    [frame(1, Buffer.from('x'), { rsv: 2 }), 'protocol.ws_reserved_bits'],
    [frame(1, Buffer.from('x'), { rsv1: true }), 'protocol.ws_reserved_bits'],
    [frame(9, Buffer.alloc(126)), 'protocol.ws_bad_control_frame'],
    [frame(9, Buffer.alloc(1), { fin: false }), 'protocol.ws_bad_control_frame'],
    [frame(0, Buffer.from('x')), 'protocol.ws_orphan_continuation'],
    [Buffer.concat([frame(1, Buffer.from('a'), { fin: false }), frame(1, Buffer.from('b'))]), 'protocol.ws_interleaved_message'],
    [Buffer.from('817f8000000000000000', 'hex'), 'protocol.ws_bad_length'],
  ];
  for (const [bytes, reason] of cases) {
    const { msgs, stats } = run([bytes, frame(1, Buffer.from('after'))]);
    assert.equal(stats.snapshot().errors[reason], 1, reason);
    assert.ok(!msgs.some((m) => text(m) === 'after'), `${reason}: nothing parsed after a violation`);
    assert.ok((stats.snapshot().drops['protocol.ws_after_error'] ?? 0) > 0, reason);
  }
  assert.equal(run(frame(1, Buffer.from('x'), { mask: false })).stats.snapshot().errors['protocol.ws_mask_violation'], 1);
  const cut = frame(1, Buffer.from('hello'));
  assert.equal(run(cut.subarray(0, cut.length - 1)).stats.snapshot().errors['protocol.ws_truncated_frame'], 1);
  assert.equal(run(frame(1, Buffer.from('a'), { fin: false })).stats.snapshot().errors['protocol.ws_truncated_message'], 1);
});

test('oversized frames and messages are capped, counted, and the parser stays in step', () => {
  const big = randomBytes(5000);
  const whole = Buffer.concat([frame(2, big), frame(1, Buffer.from('next'))]);
  // Fed a byte at a time, the big frame is never held whole.
  const { msgs, stats } = run([...whole].map((v) => Buffer.from([v])), { maxMessageBytes: 1000 });
  assert.deepEqual(msgs.map((m) => [m.kind, 'truncated' in m && m.truncated]), [['binary', true], ['text', false]]);
  assert.equal(text(msgs[1]), 'next');
  assert.equal(stats.snapshot().drops['protocol.ws_frame_too_large'], 5000);
  const frags = run([frame(1, Buffer.alloc(600, 97), { fin: false }), frame(0, Buffer.alloc(600, 98))], { maxMessageBytes: 1000 });
  assert.ok(frags.msgs[0]?.kind === 'text' && frags.msgs[0].truncated && frags.msgs[0].data.length === 600);
  assert.equal(frags.stats.snapshot().drops['protocol.ws_message_too_large'], 600);
});

/** Each message through one sender's deflater, or a fresh one per message without context takeover. */
async function deflateStream(messages: string[], noContextTakeover: boolean): Promise<Buffer[]> {
  const out: Buffer[] = [];
  let d = deflater();
  for (const m of messages) {
    if (noContextTakeover) d = deflater();
    out.push(await d(m));
  }
  return out;
}

test('permessage-deflate with and without context takeover, across fragments', async () => {
  const messages = ['{"type":"response.create","model":"gpt-5"}', '{"type":"response.create","model":"gpt-5"}', 'x'.repeat(40_000), '{"type":"response.completed"}'];
  for (const nct of [false, true]) {
    const wire = await deflateStream(messages, nct);
    // Context takeover must actually be exercised: the repeat compresses to back-references.
    if (!nct) assert.ok(wire[1]!.length < 10);
    const frames = wire.flatMap((w) => [frame(1, w.subarray(0, 3), { fin: false, rsv1: true }), frame(0, w.subarray(3))]);
    const { msgs, stats } = run(frames, { deflate: true, noContextTakeover: nct });
    assert.deepEqual(msgs.map(text), messages);
    assert.deepEqual(stats.snapshot().errors, {});
  }
});

test('a deflate bomb stops at the cap and is counted; corrupt deflate is counted', () => {
  const bomb = zlib.deflateRawSync(Buffer.alloc(50 << 20), { finishFlush: zlib.constants.Z_SYNC_FLUSH });
  const { msgs, stats } = run(frame(2, bomb, { rsv1: true }), { deflate: true, maxMessageBytes: 1 << 20 });
  assert.ok(bomb.length < 1 << 20);
  assert.ok(msgs[0]?.kind === 'binary' && msgs[0].truncated && msgs[0].data.length <= 1 << 20);
  assert.equal(stats.snapshot().drops['protocol.ws_inflate_capped'], 1);
  const bad = run([frame(1, Buffer.from([0xff, 0xff, 0xff]), { rsv1: true }), frame(1, Buffer.from('plain'))], { deflate: true });
  assert.equal(bad.stats.snapshot().errors['protocol.ws_corrupt_deflate'], 1);
  assert.deepEqual(bad.msgs.map(text), ['plain']);
});

test('negotiated permessage-deflate parameters', () => {
  assert.deepEqual(negotiatedDeflate('permessage-deflate; client_no_context_takeover; server_max_window_bits=15'), {
    deflate: true,
    clientNoContextTakeover: true,
    serverNoContextTakeover: false,
  });
  assert.equal(negotiatedDeflate(undefined).deflate, false);
  assert.equal(negotiatedDeflate('x-webkit-deflate-frame').deflate, false);
});

test('fuzz: any split of valid frames parses the same; random bytes never throw and stay bounded', () => {
  fc.assert(
    fc.property(
      fc.array(fc.record({ op: fc.constantFrom(1, 2, 9, 10), data: fc.uint8Array({ maxLength: 300 }), frags: fc.integer({ min: 1, max: 3 }) }), { maxLength: 8 }),
      fc.array(fc.nat(), { maxLength: 6 }),
      (items, cuts) => {
        const frames: Buffer[] = [];
        for (const it of items) {
          const data = Buffer.from(it.op >= 9 ? it.data.slice(0, 125) : it.data);
          if (it.op >= 9 || it.frags === 1) frames.push(frame(it.op, data));
          else {
            const step = Math.ceil(data.length / it.frags) || 1;
            for (let i = 0, first = true; first || i < data.length; i += step, first = false)
              frames.push(frame(first ? it.op : 0, data.subarray(i, i + step), { fin: i + step >= data.length }));
          }
        }
        const all = Buffer.concat(frames);
        const points = [...new Set(cuts.map((c) => c % (all.length + 1)))].sort((a, b) => a - b);
        const chunks = [0, ...points, all.length].slice(1).map((end, i, arr) => all.subarray(i === 0 ? 0 : arr[i - 1]!, end));
        const { msgs, stats } = run(chunks);
        assert.deepEqual(stats.snapshot().errors, {});
        assert.deepEqual(
          msgs.map((m) => ('data' in m ? [m.kind, m.data.toString('hex')] : [m.kind])),
          items.map((it) => (it.op >= 9 ? [it.op === 9 ? 'ping' : 'pong'] : [it.op === 1 ? 'text' : 'binary', Buffer.from(it.data).toString('hex')])),
        );
      },
    ),
    { numRuns: 500 },
  );
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 600 }), fc.boolean(), (bytes, deflate) => {
      const { msgs } = run(Buffer.from(bytes), { deflate, maxMessageBytes: 256 });
      for (const m of msgs) if ('data' in m) assert.ok(m.data.length <= 256);
    }),
    { numRuns: 2000 },
  );
});
