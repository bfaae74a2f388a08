import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireKernel } from '../helpers/privileges.js';
import { runCli } from '../helpers/cli.js';
import { expectedContentHash, expectedOutputHash, plainSha256 } from '../helpers/expected-hash.js';

test('agentrail hash reproduces the keyed and plain hashes of a real log given the deployment key; a guess without the key matches nothing', { timeout: 120_000 }, (t) => {
  if (!requireKernel(t)) return;
  const dir = mkdtempSync(join(tmpdir(), 'agentrail-hash-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const cfg = join(dir, 'c.yaml');
  writeFileSync(cfg, `observability:\n  httpPort: 0\nseal:\n  keyDir: ${join(dir, 'keys')}\n`);
  // A file whose name is personal data: its path segment is hashed (keyed) in the trail.
  const sub = join(dir, 'inbox');
  mkdirSync(sub);
  const name = 'victim@example.com.txt';
  const file = join(sub, name);
  writeFileSync(file, 'quarterly numbers\n');
  const log = join(dir, 'log');
  const r = runCli(['run', '--log-dir', log, '--config', cfg, '--', '/bin/cat', file]);
  assert.equal(r.status, 0, r.stderr);
  const events = readdirSync(join(log, 'segments')).flatMap((f) => readFileSync(join(log, 'segments', f), 'utf8').trim().split('\n')).map((l) => JSON.parse(l) as { type: string; data: Record<string, any> });
  const read = events.find((e) => e.type === 'dev.agentrail.data.access' && String(e.data.resource_uri).startsWith(`file://${sub}/~h:`) && e.data.access_mode === 'read');
  assert.ok(read, `the read of the file, with its name hashed: ${events.map((e) => e.data.resource_uri).filter(Boolean).join(', ')}`);
  assert.ok(!JSON.stringify(events).includes('victim@example.com'), 'the name is not in the trail');
  const segment = String(read.data.resource_uri).split('/').at(-1)!;

  const key = join(dir, 'keys', 'agentrail.hmac'); // beside the signing key, outside the log directory
  assert.ok(!existsSync(join(log, 'keys', 'agentrail.hmac')), 'no key inside the log directory');
  const withKey = runCli(['hash', '--key', key, '--segment', name]);
  assert.equal(withKey.status, 0, withKey.stderr);
  assert.equal(withKey.stdout.trim(), segment, 'the investigator with the key finds the file by its name');
  // Without the deployment key, a guesser's plain SHA-256 (or another key) matches nothing in the trail.
  const other = join(dir, 'other.hmac');
  writeFileSync(other, 'ab'.repeat(32) + '\n');
  const guess = runCli(['hash', '--key', other, '--segment', name]).stdout.trim();
  assert.notEqual(guess, segment);
  const plain = createHash('sha256').update(name).digest('hex');
  assert.ok(!JSON.stringify(events).includes(plain.slice(0, 12)));

  // Content under 64 bytes is keyed too: with the key, the file's hash; without it, one clear line.
  assert.equal(runCli(['hash', '--key', key, file]).stdout.trim(), expectedContentHash('quarterly numbers\n', key));
  const noKey = runCli(['hash', file]);
  assert.equal(noKey.status, 2);
  assert.match(noKey.stderr, /under 64 bytes .*pass --key KEYFILE/);
  const bad = runCli(['hash', '--segment', 'x']);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /need --key KEYFILE/);
});

test('agentrail hash --string / FILE / --output: plain SHA-256 from 64 bytes up, HMAC under the key below, the documented output form', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'agentrail-hash-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const key = join(dir, 'agentrail.hmac');
  writeFileSync(key, randomBytes(32).toString('hex') + '\n');
  const long = 'A recovered answer that is long enough to be hashed plainly by anyone.';
  assert.equal(runCli(['hash', '--string', '-'], { input: long }).stdout.trim(), plainSha256(long), 'no key needed from 64 bytes up');
  assert.equal(runCli(['hash', '--key', key, '--string', '-'], { input: long }).stdout.trim(), plainSha256(long));
  const short = 'Paris.';
  assert.equal(runCli(['hash', '--key', key, '--string', '-'], { input: short }).stdout.trim(), expectedContentHash(short, key));
  const f = join(dir, 'answer.txt');
  writeFileSync(f, short);
  assert.equal(runCli(['hash', '--key', key, f]).stdout.trim(), expectedContentHash(short, key));
  // --output: the whole output of a model call with tool calls, arguments as a string (OpenAI) or an object (Anthropic input).
  const out = { text: '', tool_calls: [{ name: 'read_file', arguments: '{"path": "/tmp/a"}' }, { name: 'ls', arguments: { dir: '/' } }] };
  const want = expectedOutputHash('', [{ name: 'read_file', arguments: '{"path": "/tmp/a"}' }, { name: 'ls', arguments: '{"dir":"/"}' }], key);
  assert.equal(runCli(['hash', '--key', key, '--output', '-'], { input: JSON.stringify(out) }).stdout.trim(), want);
  assert.equal(runCli(['hash', '--key', key, '--output', '-'], { input: JSON.stringify({ text: short }) }).stdout.trim(), expectedContentHash(short, key), 'text only: the text');
  const bad = runCli(['hash', '--key', key, '--output', '-'], { input: '{"tool_calls":[{"arguments":"{}"}]}' });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--output expects/);
});
