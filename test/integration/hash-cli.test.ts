import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireKernel } from '../helpers/privileges.js';
import { runCli } from '../helpers/cli.js';

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

  // Plain content hashes need no key: a FILE and --string.
  assert.equal(runCli(['hash', file]).stdout.trim(), `sha256:${createHash('sha256').update('quarterly numbers\n').digest('hex')}`);
  assert.equal(runCli(['hash', '--string', '-'], { input: 'abc' }).stdout.trim(), `sha256:${createHash('sha256').update('abc').digest('hex')}`);
  const bad = runCli(['hash', '--segment', 'x']);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /need --key KEYFILE/);
});
