/** The embedded default key pair lives outside the log directory; old log directories keep their key. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultKeyDir, defaultKeys, ensureDefaultKey } from '../../src/seal/default-keys.js';
import { generateKey } from '../../src/seal/keys.js';
import { parseVerifierKey } from '../../src/verify/note.js';
import { tmp } from './fixture.js';

test('default key dir: $XDG_STATE_HOME/agentrail/keys, /var/lib/agentrail/keys for root, ~/.local/state otherwise', () => {
  assert.equal(defaultKeyDir({ XDG_STATE_HOME: '/srv/state' }, 0), '/srv/state/agentrail/keys');
  assert.equal(defaultKeyDir({}, 0), '/var/lib/agentrail/keys');
  assert.equal(defaultKeyDir({ XDG_STATE_HOME: 'relative' }, 1000), join(homedir(), '.local', 'state', 'agentrail', 'keys'));
});

test('a fresh log directory: the key pair is generated in seal.keyDir, not in the log directory, and reused', () => {
  const base = tmp('ar-dk-');
  const logDir = join(base, 'log');
  const keyDir = join(base, 'keys');
  const k = ensureDefaultKey({ keyDir }, logDir, 'node-1');
  assert.deepEqual(k, { signer: join(keyDir, 'agentrail.key'), verifier: join(keyDir, 'agentrail.pub'), generated: true, legacy: false });
  assert.equal(statSync(k.signer).mode & 0o777, 0o600);
  const ks = defaultKeys({ keys: [], keyDir }, logDir, 'node-1');
  const pub = parseVerifierKey(readFileSync(k.verifier, 'utf8'));
  assert.equal(pub.name, 'agentrail-node-1');
  assert.equal(Buffer.from(pub.publicKey).toString('hex'), ks.active().publicKey.toString('hex'), 'the verifier key is the signer public half');
  assert.equal(ensureDefaultKey({ keyDir }, logDir, 'node-1').generated, false, 'reused on the next start');
});

test('a log directory from before keeps its key at <log-dir>/keys (legacy, warned)', () => {
  const logDir = tmp('ar-dk-legacy-');
  mkdirSync(join(logDir, 'keys'));
  const g = generateKey('agentrail-old');
  writeFileSync(join(logDir, 'keys', 'agentrail.key'), g.signer + '\n');
  const k = ensureDefaultKey({ keyDir: join(logDir, '..', 'elsewhere') }, logDir, 'node-1');
  assert.equal(k.legacy, true);
  assert.equal(k.signer, join(logDir, 'keys', 'agentrail.key'));
  assert.equal(defaultKeys({ keys: [] }, logDir, 'n').active().name, 'agentrail-old');
});

test('four sensors starting at once on one key dir agree on one key pair', async () => {
  const keyDir = join(tmp('ar-dk-race-'), 'keys');
  const mod = fileURLToPath(new URL('../../src/seal/default-keys.js', import.meta.url));
  const script = `const m = await import(${JSON.stringify(mod)}); const k = m.defaultKeys({ keys: [], keyDir: ${JSON.stringify(keyDir)} }, '/nonexistent-log', 'n'); process.stdout.write(k.active().keyId);`;
  const ids = await Promise.all(
    [0, 1, 2, 3].map(
      () =>
        new Promise<string>((resolve, reject) => {
          const c = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, AGENTRAIL_LOG_LEVEL: 'silent' } });
          let out = '';
          let err = '';
          c.stdout.on('data', (d: Buffer) => (out += d));
          c.stderr.on('data', (d: Buffer) => (err += d));
          c.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(err))));
        }),
    ),
  );
  assert.equal(new Set(ids).size, 1, ids.join(' '));
  const pub = parseVerifierKey(readFileSync(join(keyDir, 'agentrail.pub'), 'utf8'));
  assert.equal(pub.keyId, ids[0]);
});
