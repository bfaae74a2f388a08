import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { requireKernel } from '../helpers/privileges.js';
import { Direction } from '../../src/native/abi.js';
import { KernelHarness } from '../native/kernel-harness.js';

// The ring buffer's data area is mapped once (native/src/ring_reader.cc): a record that wraps
// the end of the ring is joined by a copy. A 64 KiB ring and ~6 MB of pipe writes of uneven
// sizes make the kernel wrap records about a hundred times; every byte must come out as written.
let h: KernelHarness | undefined;
after(async () => {
  await h?.stop();
});

// Deterministic chunks: sizes 1..4000 in an uneven cycle, bytes that differ per chunk and offset.
const WRITER = `
import os, time
for i in range(3000):
    n = (i * 1237) % 4000 + 1
    os.write(1, bytes(((i * 7 + j) % 251) for j in range(n)))
    if i % 25 == 0: time.sleep(0.002)
`;
function expected(): Buffer {
  const parts: Buffer[] = [];
  for (let i = 0; i < 3000; i++) {
    const n = ((i * 1237) % 4000) + 1;
    const b = Buffer.alloc(n);
    for (let j = 0; j < n; j++) b[j] = (i * 7 + j) % 251;
    parts.push(b);
  }
  return Buffer.concat(parts);
}

test('ring buffer: records that wrap the end of a small ring arrive whole and in order', async (t) => {
  if (!requireKernel(t, 'root, BTF and tracefs to load the eBPF programs')) return;
  h = KernelHarness.start({ objects: ['process', 'pipe'], ringBytes: 64 * 1024, pipeCap: 4096, tlsCap: 16 * 1024 });
  const before = h.source.counters();
  const r = await h.run('python3', ['-c', WRITER]);
  assert.equal(r.code, 0, r.stderr.toString());
  const want = expected();
  assert.ok(r.stdout.equals(want), 'the writer wrote what the test expects');

  const c = h.source.counters();
  assert.equal((c['drops.pipe.ringbuf_full'] ?? 0) - (before['drops.pipe.ringbuf_full'] ?? 0), 0, 'no record lost to a full ring (the writer is paced)');
  const recs = h
    .of('pipe.data', r.pid)
    .filter((e) => e.direction === Direction.EGRESS && e.fd === 1)
    .sort((a, b) => (a.ktimeNs === b.ktimeNs ? a.chunkOffset - b.chunkOffset : a.ktimeNs < b.ktimeNs ? -1 : 1));
  assert.equal(recs.length, 3000, 'one record per write');
  const got = Buffer.concat(recs.map((e) => e.data));
  assert.equal(got.length, want.length);
  assert.ok(got.equals(want), 'captured bytes equal the bytes written');
  assert.deepEqual(h.decodeErrors, {}, 'every record decodes');
  // ~6 MB through 64 KiB: the wrap path ran (a broken join would have failed the byte comparison above).
  assert.ok((c.ringWrapped ?? 0) - (before.ringWrapped ?? 0) >= 10, `records joined across the ring's end: ${c.ringWrapped}`);
});
