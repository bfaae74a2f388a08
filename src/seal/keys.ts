/**
 * Ed25519 signing keys for checkpoints (node:crypto). Key files use the C2SP / golang.org/x/mod
 * sumdb/note signer format `PRIVATE+KEY+<name>+<keyid>+<base64(0x01 ‖ seed)>`; the public half is
 * the verifier key `<name>+<keyid>+<base64(0x01 ‖ pubkey)>`. A Kubernetes Secret mounted as a file
 * holds the same text. Several keys with validity windows give rotation.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { AgentrailError } from '../errors.js';

const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

export interface SigningKey {
  name: string;
  /** 4-byte key id, hex. */
  keyId: string;
  keyIdBytes: Buffer;
  publicKey: Buffer;
  privateKey: KeyObject;
  notBefore?: number;
  notAfter?: number;
}

export function keyIdOf(name: string, publicKey: Uint8Array): Buffer {
  return createHash('sha256').update(name, 'utf8').update(Buffer.from([0x0a, 0x01])).update(publicKey).digest().subarray(0, 4);
}

function validName(name: string): boolean {
  return name.length > 0 && !/[\s+\u2014]/u.test(name) && !/\p{C}/u.test(name);
}

export function keyFromSeed(name: string, seed: Uint8Array): SigningKey {
  if (!validName(name)) throw new AgentrailError('CONFIG_KEY_NAME', 'key name must be non-empty without spaces, "+" or control characters');
  if (seed.length !== 32) throw new AgentrailError('CONFIG_KEY_FORMAT', 'Ed25519 seed must be 32 bytes');
  const privateKey = createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]), format: 'der', type: 'pkcs8' });
  const jwk = createPublicKey(privateKey).export({ format: 'jwk' });
  const publicKey = Buffer.from(jwk.x!, 'base64url');
  const keyIdBytes = keyIdOf(name, publicKey);
  return { name, keyId: keyIdBytes.toString('hex'), keyIdBytes, publicKey, privateKey };
}

export function parseSignerKeyText(text: string, where: string): SigningKey {
  const parts = text.trim().split('+');
  if (parts.length < 5 || parts[0] !== 'PRIVATE' || parts[1] !== 'KEY') {
    throw new AgentrailError('CONFIG_KEY_FORMAT', `${where}: not a signer key (expected PRIVATE+KEY+name+keyid+key)`, {
      hint: 'create one with `agentrail keygen --name NAME --out DIR`',
    });
  }
  const b = Buffer.from(parts.slice(4).join('+'), 'base64');
  if (b.length !== 33 || b[0] !== 0x01) throw new AgentrailError('CONFIG_KEY_FORMAT', `${where}: not an Ed25519 signer key`);
  const k = keyFromSeed(parts[2]!, b.subarray(1));
  if (k.keyId !== parts[3]) throw new AgentrailError('CONFIG_KEY_FORMAT', `${where}: key id does not match the key`);
  return k;
}

export function formatSignerKey(k: { name: string; keyIdBytes: Buffer; seed: Buffer }): string {
  return `PRIVATE+KEY+${k.name}+${k.keyIdBytes.toString('hex')}+${Buffer.concat([Buffer.from([1]), k.seed]).toString('base64')}`;
}

export function formatVerifierKey(k: Pick<SigningKey, 'name' | 'keyIdBytes' | 'publicKey'>): string {
  return `${k.name}+${k.keyIdBytes.toString('hex')}+${Buffer.concat([Buffer.from([1]), k.publicKey]).toString('base64')}`;
}

/** A fresh key pair: the signer key text and the verifier key text. */
export function generateKey(name: string): { signer: string; verifier: string; key: SigningKey } {
  const { privateKey } = generateKeyPairSync('ed25519');
  const seed = Buffer.from(privateKey.export({ format: 'jwk' }).d!, 'base64url');
  const key = keyFromSeed(name, seed);
  return { signer: formatSignerKey({ name, keyIdBytes: key.keyIdBytes, seed }), verifier: formatVerifierKey(key), key };
}

export function signBytes(key: SigningKey, msg: Uint8Array): Buffer {
  return sign(null, msg, key.privateKey);
}

export interface KeyFileSpec {
  file: string;
  notBefore?: string | undefined;
  notAfter?: string | undefined;
}

/**
 * The sensor's signing keys. Files are re-read when their mtime changes (a rotated Kubernetes
 * Secret is picked up without a restart); the active key is the valid one with the latest notBefore.
 */
export class KeySet {
  private entries: { spec: KeyFileSpec; mtimeMs: number; key: SigningKey }[] = [];

  constructor(keys: SigningKey[] = []) {
    for (const key of keys) this.entries.push({ spec: { file: '' }, mtimeMs: 0, key });
  }

  static fromFiles(specs: readonly KeyFileSpec[]): KeySet {
    const ks = new KeySet();
    for (const spec of specs) ks.entries.push({ spec, mtimeMs: -1, key: undefined as unknown as SigningKey });
    ks.reload();
    return ks;
  }

  private reload(): void {
    for (const e of this.entries) {
      if (!e.spec.file) continue;
      let mtimeMs: number;
      try {
        mtimeMs = statSync(e.spec.file).mtimeMs;
      } catch (err) {
        if (e.key) continue; // keep the last good key if a Secret update is momentarily absent
        throw new AgentrailError('CONFIG_KEY_MISSING', `signing key file ${e.spec.file} cannot be read`, {
          cause: err,
          hint: 'create one with `agentrail keygen --name NAME --out DIR` and set seal.keys[].file',
        });
      }
      if (mtimeMs === e.mtimeMs) continue;
      const key = parseSignerKeyText(readFileSync(e.spec.file, 'utf8'), e.spec.file);
      if (e.spec.notBefore) key.notBefore = Date.parse(e.spec.notBefore);
      if (e.spec.notAfter) key.notAfter = Date.parse(e.spec.notAfter);
      e.key = key;
      e.mtimeMs = mtimeMs;
    }
  }

  /** The key to sign with at time `nowMs`. */
  active(nowMs = Date.now()): SigningKey {
    this.reload();
    let best: SigningKey | undefined;
    for (const { key } of this.entries) {
      if ((key.notBefore ?? -Infinity) > nowMs || (key.notAfter ?? Infinity) < nowMs) continue;
      if (!best || (key.notBefore ?? -Infinity) > (best.notBefore ?? -Infinity)) best = key;
    }
    if (!best) {
      throw new AgentrailError('CONFIG_KEY_MISSING', 'no signing key is valid now', {
        hint: 'configure seal.keys (agentrail keygen makes one) and check notBefore/notAfter',
      });
    }
    return best;
  }

  all(): SigningKey[] {
    return this.entries.map((e) => e.key);
  }
}
