import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { CaptureReader, CaptureWriter, BLOCK_HEADER } from '../../src/source/capture-file.js';
import { ReplaySource } from '../../src/source/replay-source.js';
import { encodeBatch, encodeEvent } from '../../src/native/records/encode.js';
import { decodeBatch } from '../../src/decode/decode-batch.js';
import { AgentrailError } from '../../src/errors.js';
import { arbitraryRawEvent, sampleEvents } from '../helpers/raw-samples.js';

const tmp = mkdtempSync(join(tmpdir(), 'ar-capture-'));
process.on('exit', () => rmSync(tmp, { recursive: true, force: true }));

function writeCapture(path: string, batches: Buffer[]): void {
  const w = CaptureWriter.create(path, { host: 'test-host' });
  for (const b of batches) w.write(b);
  w.close();
}

async function readAll(path: string, pace?: 'full' | 'realtime'): Promise<Buffer[]> {
  const src = new ReplaySource(path, { pace, speed: 1e6 });
  const out: Buffer[] = [];
  for await (const b of src.batches()) out.push(b);
  return out;
}

function sampleBatches(): Buffer[] {
  const ev = sampleEvents();
  return [encodeBatch(ev.slice(0, 4)), encodeBatch(ev.slice(4, 9)), encodeBatch(ev.slice(9))];
}

test('capture → replay is byte-exact, batch by batch (full speed and realtime)', async () => {
  const path = join(tmp, 'a.cap');
  const batches = sampleBatches();
  writeCapture(path, batches);
  for (const pace of ['full', 'realtime'] as const) {
    const back = await readAll(path, pace);
    assert.equal(back.length, batches.length);
    back.forEach((b, i) => assert.ok(b.equals(batches[i]!), `batch ${i} (${pace})`));
    assert.deepEqual(decodeBatch(Buffer.concat(back)), sampleEvents());
  }
  const r = await CaptureReader.open(path);
  assert.equal(r.header.host, 'test-host');
  assert.equal(r.header.formatVersion, 1);
  const counts: number[] = [];
  for await (const b of r.blocks()) counts.push(b.recordCount);
  assert.deepEqual(counts, [4, 5, 4]);
});

test('capture → replay round trip (property: any events, any batching)', async () => {
  let i = 0;
  await fc.assert(
    fc.asyncProperty(fc.array(fc.array(arbitraryRawEvent, { maxLength: 6 }), { maxLength: 6 }), async (groups) => {
      const path = join(tmp, `p${i++}.cap`);
      const batches = groups.map(encodeBatch).filter((b) => b.length > 0);
      writeCapture(path, batches);
      const back = await readAll(path);
      assert.equal(Buffer.concat(back).compare(Buffer.concat(batches)), 0);
      assert.deepEqual(decodeBatch(Buffer.concat(back)), groups.flat());
    }),
    { numRuns: 40 },
  );
});

async function expectRefused(path: string, code: string, re: RegExp): Promise<AgentrailError> {
  try {
    await readAll(path);
  } catch (e) {
    assert.ok(e instanceof AgentrailError, String(e));
    assert.equal(e.code, code, e.message);
    assert.match(e.message, re);
    return e;
  }
  assert.fail(`${path} was accepted`);
}

test('a flipped payload byte is refused with the offset of its block', async () => {
  const path = join(tmp, 'flip.cap');
  const batches = sampleBatches();
  writeCapture(path, batches);
  const bytes = readFileSync(path);
  const headerLen = bytes.readUInt32LE(12);
  const block2 = headerLen + BLOCK_HEADER + batches[0]!.length;
  bytes[block2 + BLOCK_HEADER + 40] = bytes[block2 + BLOCK_HEADER + 40]! ^ 0x01;
  writeFileSync(path, bytes);
  await expectRefused(path, 'CAPTURE_CORRUPT', new RegExp(`bad checksum in block at offset ${block2}\\b`));
});

test('a truncated capture is refused with the offset of the incomplete block', async () => {
  const path = join(tmp, 'trunc.cap');
  const batches = sampleBatches();
  writeCapture(path, batches);
  const size = readFileSync(path).length;
  truncateSync(path, size - 10);
  const lastBlock = size - BLOCK_HEADER - batches[2]!.length;
  await expectRefused(path, 'CAPTURE_TRUNCATED', new RegExp(`block at offset ${lastBlock} ends past the end .*\\(10 bytes missing\\)`));
  truncateSync(path, 20);
  await expectRefused(path, 'CAPTURE_TRUNCATED', /file header at offset 0/);
});

test('every single-byte corruption anywhere in the file is detected (property)', async () => {
  const path = join(tmp, 'any.cap');
  writeCapture(path, sampleBatches());
  const good = readFileSync(path);
  await fc.assert(
    fc.asyncProperty(fc.nat({ max: good.length - 1 }), fc.integer({ min: 1, max: 255 }), async (pos, x) => {
      const bad = Buffer.from(good);
      bad[pos] = bad[pos]! ^ x;
      const p = join(tmp, 'any-bad.cap');
      writeFileSync(p, bad);
      await assert.rejects(readAll(p), (e: unknown) => e instanceof AgentrailError && /^CAPTURE_/.test(e.code) && /offset \d+/.test(e.message));
    }),
    { numRuns: 300 },
  );
});

test('a file that is not a capture is refused', async () => {
  const path = join(tmp, 'not.cap');
  writeFileSync(path, Buffer.concat([Buffer.from('hello world, not a capture file at all....'), encodeEvent(sampleEvents()[0]!)]));
  await expectRefused(path, 'CAPTURE_CORRUPT', /bad magic .* at offset 0/);
});
