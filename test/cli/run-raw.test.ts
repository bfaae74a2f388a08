import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../helpers/cli.js';
import { repoRoot } from '../../src/paths.js';
import { CaptureReader, CaptureWriter } from '../../src/source/capture-file.js';
import { encodeBatch } from '../../src/native/records/encode.js';
import { rawEventToJson } from '../../src/decode/raw-json.js';
import { sampleEvents } from '../helpers/raw-samples.js';

const dir = mkdtempSync(join(tmpdir(), 'agentrail-cli-raw-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const fixture = join(repoRoot, 'test/fixtures/capture/samples-v1.cap');
const golden = join(repoRoot, 'test/fixtures/capture/samples-v1.raw.jsonl');

test('run --raw --replay prints the expected JSON lines (golden capture of format v1)', () => {
  const r = runCli(['run', '--raw', '--replay', fixture]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, readFileSync(golden, 'utf8'));
  // and the golden lines are exactly the sample events, formatted
  assert.equal(r.stdout, sampleEvents().map((e) => rawEventToJson(e) + '\n').join(''));
  const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.equal(lines.length, sampleEvents().length);
  assert.equal(typeof lines[0]!.ktimeNs, 'string', '64-bit values are strings');
});

test('run --raw never prints payload plaintext; --raw-payload adds base64', () => {
  const r = runCli(['run', '--raw', '--replay', fixture]);
  assert.equal(r.status, 0);
  assert.ok(!r.stdout.includes('GET / HTTP'), 'TLS plaintext absent');
  assert.ok(!r.stdout.includes('HTTP/1.1 200'), 'TLS plaintext absent');
  assert.ok(!r.stdout.includes(Buffer.from('GET / HTTP/1.1\r\n\r\n').toString('base64')), 'no base64 either');
  const tls = r.stdout.split('\n').filter((l) => l.includes('"tls.data"')).map((l) => JSON.parse(l) as { data: { len: number; sha256: string; base64?: string } });
  assert.equal(tls[0]!.data.len, 18);
  assert.match(tls[0]!.data.sha256, /^[0-9a-f]{64}$/);
  assert.equal(tls[0]!.data.base64, undefined);
  const p = runCli(['run', '--raw', '--raw-payload', '--replay', fixture]);
  assert.equal(p.status, 0);
  const tlsP = p.stdout.split('\n').filter((l) => l.includes('"tls.data"')).map((l) => JSON.parse(l) as { data: { base64: string } });
  assert.equal(Buffer.from(tlsP[0]!.data.base64, 'base64').toString(), 'GET / HTTP/1.1\r\n\r\n');
});

test('run --raw --out FILE and --pid selection on a replay', () => {
  const out = join(dir, 'out.jsonl');
  const r = runCli(['run', '--raw', '--replay', fixture, '--out', out]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, '');
  assert.equal(readFileSync(out, 'utf8'), readFileSync(golden, 'utf8'));
  // pid 4243 (the forked child) has no records of its own in the sample: nothing printed
  const none = runCli(['run', '--raw', '--replay', fixture, '--pid', '4243']);
  assert.equal(none.status, 0, none.stderr);
  assert.equal(none.stdout, '');
  const all = runCli(['run', '--raw', '--replay', fixture, '--pid', '4242']);
  assert.equal(all.stdout.trim().split('\n').length, sampleEvents().length);
});

test('record --replay → capture file that replays byte-exact', async () => {
  const src = join(dir, 'src.cap');
  const w = CaptureWriter.create(src);
  const ev = sampleEvents();
  const batches = [encodeBatch(ev.slice(0, 5)), encodeBatch(ev.slice(5))];
  for (const b of batches) w.write(b);
  w.close();
  const copy = join(dir, 'copy.cap');
  const r = runCli(['record', '--replay', src, '--out', copy]);
  assert.equal(r.status, 0, r.stderr);
  const rd = await CaptureReader.open(copy);
  const got: Buffer[] = [];
  for await (const b of rd.blocks()) got.push(b.records);
  assert.equal(got.length, 2);
  got.forEach((b, i) => assert.ok(b.equals(batches[i]!), `block ${i} byte-exact`));
});

test('a corrupted capture is refused: one line naming the offset, non-zero exit, no stack trace', () => {
  const bytes = readFileSync(fixture);
  const headerLen = bytes.readUInt32LE(12);
  bytes[bytes.length - 3] = bytes[bytes.length - 3]! ^ 0xff;
  const bad = join(dir, 'bad.cap');
  writeFileSync(bad, bytes);
  const r = runCli(['run', '--raw', '--replay', bad]);
  assert.equal(r.status, 1);
  const firstBlockLen = bytes.readUInt32LE(headerLen + 4);
  const secondBlock = headerLen + 24 + firstBlockLen;
  assert.match(r.stderr, new RegExp(`CAPTURE_CORRUPT: bad checksum in block at offset ${secondBlock}\\b`));
  assert.ok(!/\n\s+at /.test(r.stderr), 'no stack trace');
  const trunc = join(dir, 'trunc.cap');
  writeFileSync(trunc, readFileSync(fixture).subarray(0, 100));
  const t = runCli(['run', '--raw', '--replay', trunc]);
  assert.equal(t.status, 1);
  assert.match(t.stderr, /CAPTURE_TRUNCATED: block at offset \d+ ends past the end/);
});

test('usage errors exit 2 with one line', () => {
  for (const args of [
    ['run', '--raw', '--collector', 'dtrace', '--all'],
    ['run', '--raw', '--bogus'],
    ['run', '--raw', '--duration', '-1', '--all'],
    ['run', '--raw', '--pid', 'abc'],
    ['run', '--raw'],
    ['record', '--all'],
  ]) {
    const r = runCli(args);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, /^agentrail (run|record): USAGE/, args.join(' '));
    assert.equal(r.stderr.trim().split('\n').length, 1);
  }
});
