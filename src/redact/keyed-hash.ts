import { createHmac, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, lstatSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { AgentrailError } from '../errors.js';

/**
 * Hashes of low-entropy values — an instruction, a credential's key id, a path segment, a name —
 * can be confirmed by guessing when they are plain SHA-256. They are HMAC-SHA-256 under a
 * per-deployment key kept like the signing key, written `hmac-sha256:<hex>` (the prefix the
 * OpenTelemetry GenAI security conventions use); content hashes (bodies, outputs, files, results)
 * stay plain `sha256:` so anyone can recompute them from a recovered artifact. `agentrail hash
 * --key FILE` computes the same values for an investigator holding the key.
 *
 * The key is process-wide: the pipeline loads it once at start (loadDeploymentKey). Until then a
 * random key stands in, so a missing key never degrades to guessable hashes.
 */
let key: Buffer = randomBytes(32);
let keyId = 'ephemeral';

export function setDeploymentKey(k: Buffer, id = 'configured'): void {
  if (k.length < 16) throw new AgentrailError('CONFIG_HMAC_KEY', 'the HMAC key must hold at least 16 bytes');
  key = k;
  keyId = id;
}

export function deploymentKeyId(): string {
  return keyId;
}

/** `hmac-sha256:<hex>` of a low-entropy value, domain-separated by what the value is. */
export function keyedHash(domain: string, value: string | Uint8Array): string {
  return `hmac-sha256:${keyedHex(domain, value)}`;
}

export function keyedHex(domain: string, value: string | Uint8Array, k: Buffer = key): string {
  return createHmac('sha256', k).update(domain).update('\0').update(value).digest('hex');
}

/** Key file format: 64 hex characters (32 bytes) on one line. */
export function readKeyFile(path: string): Buffer {
  let st;
  try {
    st = lstatSync(path);
  } catch (e) {
    throw new AgentrailError('CONFIG_HMAC_KEY', `cannot read HMAC key ${path}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  if (!st.isFile()) throw new AgentrailError('CONFIG_HMAC_KEY', `HMAC key ${path} is not a regular file`);
  const text = readFileSync(path, 'utf8').slice(0, 1024).trim();
  if (!/^[0-9a-f]{32,128}$/.test(text)) throw new AgentrailError('CONFIG_HMAC_KEY', `HMAC key ${path} is not 32-128 lowercase hex characters`);
  return Buffer.from(text, 'hex');
}

/** The embedded default: generate the key on first start (0600), then keep it. */
export function loadOrCreateKeyFile(path: string): Buffer {
  if (!existsSync(path)) {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    writeFileSync(path, randomBytes(32).toString('hex') + '\n', { mode: 0o600, flag: 'wx' });
    chmodSync(path, 0o600);
  }
  return readKeyFile(path);
}
