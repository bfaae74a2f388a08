/**
 * C2SP signed-note known answers: the golang.org/x/mod/sumdb/note example key and note (PeterNeumann)
 * and the C2SP signed-note spec example; node:crypto (sensor) and @noble (verifier) must agree.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSignerKeyText, signBytes, formatVerifierKey as nodeFormatVerifierKey } from '../../src/seal/keys.js';
import { fromBase64, toBase64, utf8ToBytes } from '../../src/verify/bytes.js';
import { parseKeyring } from '../../src/verify/keyring.js';
import { formatVerifierKey, parseSignerKey, parseVerifierKey, signNoteNoble, verifyNote, formatCheckpointBody, parseCheckpointText, parseNote } from '../../src/verify/note.js';

const GO_SKEY = 'PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz';
const GO_VKEY = 'PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW';
const GO_TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
const GO_NOTE = GO_TEXT + '\n\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n';
const SPEC_VKEY = 'example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k';
const SPEC_NOTE = 'This is an example message.\n\n\u2014 example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n';

test('Go sumdb/note known answer: key ids, key formats and the exact signed note (noble and node:crypto)', () => {
  const s = parseSignerKey(GO_SKEY);
  assert.equal(s.keyId, 'c74f20a3');
  assert.equal(formatVerifierKey(s.name, s.publicKey), GO_VKEY);
  assert.equal(signNoteNoble(GO_TEXT, s.name, s.seed), GO_NOTE);
  const nk = parseSignerKeyText(GO_SKEY, 'test');
  assert.equal(nk.keyId, 'c74f20a3');
  assert.equal(nodeFormatVerifierKey(nk), GO_VKEY);
  const sig = signBytes(nk, utf8ToBytes(GO_TEXT));
  assert.equal(toBase64(Buffer.concat([nk.keyIdBytes, sig])), GO_NOTE.split(' ').pop()!.trim());
  const v = verifyNote(GO_NOTE, [parseVerifierKey(GO_VKEY)]);
  assert.ok(v.ok);
});

test('C2SP spec example verifies; tampering, unknown keys and validity windows are rejected', () => {
  const k = parseVerifierKey(SPEC_VKEY);
  assert.equal(k.name, 'example.com/foo');
  assert.ok(verifyNote(SPEC_NOTE, [k]).ok);
  const tampered = SPEC_NOTE.replace('example message', 'example massage');
  const t = verifyNote(tampered, [k]);
  assert.equal(t.ok, false);
  assert.equal(!t.ok && t.reason, 'BAD_SIGNATURE');
  const u = verifyNote(SPEC_NOTE, [parseVerifierKey(GO_VKEY)]);
  assert.equal(!u.ok && u.reason, 'UNKNOWN_KEY');
  const w = verifyNote(SPEC_NOTE, [{ ...k, notAfter: Date.parse('2020-01-01T00:00:00Z') }], Date.parse('2021-01-01T00:00:00Z'));
  assert.equal(!w.ok && w.reason, 'KEY_NOT_VALID');
  const bad = verifyNote('no signature block', [k]);
  assert.equal(!bad.ok && bad.reason, 'BAD_NOTE');
  assert.throws(() => parseVerifierKey(SPEC_VKEY.replace('530d903a', '530d903b')), /key id/);
});

test('checkpoint bodies round-trip; keyring lines parse with windows and reject junk', () => {
  const root = new Uint8Array(32).fill(7);
  const body = formatCheckpointBody('//agentrail/x', 42, root);
  const cp = parseCheckpointText(body);
  assert.equal(cp.size, 42);
  assert.deepEqual(cp.root, root);
  assert.equal(parseNote(signNoteNoble(body, 'k', new Uint8Array(32).fill(1))).text, body);
  assert.throws(() => parseCheckpointText('o\n01\n' + toBase64(root) + '\n'), /size/);
  const ring = parseKeyring(`# comment\n${SPEC_VKEY} not-before=2026-01-01T00:00:00Z not-after=2026-07-01T00:00:00Z\n\n${GO_VKEY}\n`);
  assert.equal(ring.length, 2);
  assert.equal(ring[0]!.notBefore, Date.parse('2026-01-01T00:00:00Z'));
  assert.equal(ring[1]!.notAfter, undefined);
  assert.throws(() => parseKeyring(`${SPEC_VKEY} valid=yes`), /unknown option/);
  assert.throws(() => parseKeyring('garbage'), /keyring line 1/);
  assert.throws(() => fromBase64('abc'), /base64/);
});
