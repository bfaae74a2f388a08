/**
 * C2SP signed notes (https://c2sp.org/signed-note) and checkpoints (https://c2sp.org/tlog-checkpoint),
 * Ed25519 only, key formats of golang.org/x/mod/sumdb/note. @noble only: runs in a browser.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { ed25519 } from '@noble/curves/ed25519.js';
import { concatBytes, equalBytes, fromBase64, toBase64, utf8ToBytes, bytesToHex } from './bytes.js';

export const ALG_ED25519 = 0x01;
const SIG_PREFIX = '\u2014 ';

export interface VerifierKey {
  name: string;
  /** 4-byte key id as 8 lowercase hex chars. */
  keyId: string;
  publicKey: Uint8Array;
  /** Validity window (ms since epoch) for rotation; undefined = open. */
  notBefore?: number;
  notAfter?: number;
}

function validName(name: string): boolean {
  return name.length > 0 && !/[\s+\u2014]/u.test(name) && !/\p{C}/u.test(name);
}

/** key id = first 4 bytes of SHA-256(name ‖ 0x0A ‖ alg ‖ pubkey). */
export function keyIdOf(name: string, publicKey: Uint8Array): Uint8Array {
  return sha256(concatBytes(utf8ToBytes(name), new Uint8Array([0x0a, ALG_ED25519]), publicKey)).slice(0, 4);
}

/** `<name>+<keyid hex>+<base64(0x01 ‖ pubkey)>` */
export function formatVerifierKey(name: string, publicKey: Uint8Array): string {
  return `${name}+${bytesToHex(keyIdOf(name, publicKey))}+${toBase64(concatBytes(new Uint8Array([ALG_ED25519]), publicKey))}`;
}

export function parseVerifierKey(vkey: string): VerifierKey {
  const parts = vkey.trim().split('+');
  if (parts.length < 3) throw new Error('verifier key: expected name+keyid+key');
  const name = parts[0]!;
  const hash = parts[1]!;
  const b = fromBase64(parts.slice(2).join('+'));
  if (!validName(name)) throw new Error('verifier key: invalid name');
  if (!/^[0-9a-f]{8}$/.test(hash)) throw new Error('verifier key: invalid key id');
  if (b.length !== 33 || b[0] !== ALG_ED25519) throw new Error('verifier key: not an Ed25519 key');
  const publicKey = b.slice(1);
  if (bytesToHex(keyIdOf(name, publicKey)) !== hash) throw new Error('verifier key: key id does not match the key');
  return { name, keyId: hash, publicKey };
}

/** `PRIVATE+KEY+<name>+<keyid hex>+<base64(0x01 ‖ seed)>` → name and 32-byte seed. */
export function parseSignerKey(skey: string): { name: string; keyId: string; seed: Uint8Array; publicKey: Uint8Array } {
  const parts = skey.trim().split('+');
  if (parts.length < 5 || parts[0] !== 'PRIVATE' || parts[1] !== 'KEY') throw new Error('signer key: expected PRIVATE+KEY+name+keyid+key');
  const name = parts[2]!;
  const hash = parts[3]!;
  const b = fromBase64(parts.slice(4).join('+'));
  if (!validName(name)) throw new Error('signer key: invalid name');
  if (b.length !== 33 || b[0] !== ALG_ED25519) throw new Error('signer key: not an Ed25519 key');
  const seed = b.slice(1);
  const publicKey = ed25519.getPublicKey(seed);
  if (bytesToHex(keyIdOf(name, publicKey)) !== hash) throw new Error('signer key: key id does not match the key');
  return { name, keyId: hash, seed, publicKey };
}

export function formatSignerKey(name: string, seed: Uint8Array, publicKey: Uint8Array): string {
  return `PRIVATE+KEY+${name}+${bytesToHex(keyIdOf(name, publicKey))}+${toBase64(concatBytes(new Uint8Array([ALG_ED25519]), seed))}`;
}

export interface NoteSignature {
  name: string;
  keyId: string;
  signature: Uint8Array;
}

export interface ParsedNote {
  /** The signed text: every line up to and including the last '\n' before the blank line. */
  text: string;
  signatures: NoteSignature[];
}

export function parseNote(note: string): ParsedNote {
  const split = note.lastIndexOf('\n\n');
  if (split < 0 || !note.endsWith('\n')) throw new Error('note: no signature block');
  const text = note.slice(0, split + 1);
  if (/\p{C}/u.test(text.replace(/\n/g, ''))) throw new Error('note: control characters in text');
  const sigLines = note.slice(split + 2, -1).split('\n');
  const signatures: NoteSignature[] = [];
  for (const line of sigLines) {
    if (!line.startsWith(SIG_PREFIX)) throw new Error('note: malformed signature line');
    const rest = line.slice(SIG_PREFIX.length).split(' ');
    if (rest.length !== 2) throw new Error('note: malformed signature line');
    const name = rest[0]!;
    const blob = fromBase64(rest[1]!);
    if (!validName(name) || blob.length < 5) throw new Error('note: malformed signature line');
    signatures.push({ name, keyId: bytesToHex(blob.slice(0, 4)), signature: blob.slice(4) });
  }
  if (signatures.length === 0) throw new Error('note: no signatures');
  return { text, signatures };
}

/** Sign a note with @noble (used by tests and browser tools; the sensor signs with node:crypto). */
export function signNoteNoble(text: string, name: string, seed: Uint8Array): string {
  const pub = ed25519.getPublicKey(seed);
  const sig = ed25519.sign(utf8ToBytes(text), seed);
  return `${text}\n${SIG_PREFIX}${name} ${toBase64(concatBytes(keyIdOf(name, pub), sig))}\n`;
}

export type NoteVerdict =
  | { ok: true; key: VerifierKey; text: string }
  | { ok: false; reason: 'BAD_NOTE' | 'UNKNOWN_KEY' | 'BAD_SIGNATURE' | 'KEY_NOT_VALID'; detail: string };

/**
 * Verify a note against a keyring: at least one signature must be by a known key (matching name and
 * key id), valid at `atMs` (if given and the key has a window), and cryptographically correct.
 */
export function verifyNote(note: string, keys: readonly VerifierKey[], atMs?: number): NoteVerdict {
  let parsed: ParsedNote;
  try {
    parsed = parseNote(note);
  } catch (e) {
    return { ok: false, reason: 'BAD_NOTE', detail: (e as Error).message };
  }
  const msg = utf8ToBytes(parsed.text);
  let sawKnown: NoteVerdict | undefined;
  for (const s of parsed.signatures) {
    for (const k of keys) {
      if (k.name !== s.name || k.keyId !== s.keyId) continue;
      let good = false;
      try {
        good = s.signature.length === 64 && ed25519.verify(s.signature, msg, k.publicKey, { zip215: false });
      } catch {
        good = false;
      }
      if (!good) {
        sawKnown ??= { ok: false, reason: 'BAD_SIGNATURE', detail: `signature by ${k.name}+${k.keyId} does not verify` };
        continue;
      }
      if (atMs !== undefined && ((k.notBefore !== undefined && atMs < k.notBefore) || (k.notAfter !== undefined && atMs > k.notAfter))) {
        sawKnown = { ok: false, reason: 'KEY_NOT_VALID', detail: `key ${k.name}+${k.keyId} is outside its validity window at ${new Date(atMs).toISOString()}` };
        continue;
      }
      return { ok: true, key: k, text: parsed.text };
    }
  }
  return sawKnown ?? { ok: false, reason: 'UNKNOWN_KEY', detail: 'no signature by a key in the keyring' };
}

/** Verify a detached Ed25519 signature blob (keyid ‖ sig) as used by `eventsig`. */
export function verifyBlob(blob: Uint8Array, msg: Uint8Array, keys: readonly VerifierKey[]): 'ok' | 'UNKNOWN_KEY' | 'BAD_SIGNATURE' {
  if (blob.length !== 68) return 'BAD_SIGNATURE';
  const id = bytesToHex(blob.slice(0, 4));
  const cands = keys.filter((k) => k.keyId === id);
  if (cands.length === 0) return 'UNKNOWN_KEY';
  for (const k of cands) {
    try {
      if (ed25519.verify(blob.slice(4), msg, k.publicKey, { zip215: false })) return 'ok';
    } catch {
      /* try next */
    }
  }
  return 'BAD_SIGNATURE';
}

export interface Checkpoint {
  origin: string;
  size: number;
  root: Uint8Array;
  /** Extension lines after the root, if any. */
  extensions: string[];
}

export function formatCheckpointBody(origin: string, size: number, root: Uint8Array): string {
  return `${origin}\n${size}\n${toBase64(root)}\n`;
}

export function parseCheckpointText(text: string): Checkpoint {
  const lines = text.split('\n');
  if (lines.length < 4 || lines[lines.length - 1] !== '') throw new Error('checkpoint: too few lines');
  const [origin, sizeS, rootS] = lines as [string, string, string];
  if (!origin || !/^(0|[1-9][0-9]*)$/.test(sizeS)) throw new Error('checkpoint: bad origin or size');
  const size = Number(sizeS);
  if (!Number.isSafeInteger(size)) throw new Error('checkpoint: size too large');
  const root = fromBase64(rootS);
  if (root.length !== 32) throw new Error('checkpoint: root is not 32 bytes');
  return { origin, size, root, extensions: lines.slice(3, -1) };
}

export function sameRoot(a: Uint8Array, b: Uint8Array): boolean {
  return equalBytes(a, b);
}
