/**
 * The embedded default signing key (docs/integrity.md §5): when `seal.keys` is empty the sensor
 * generates one on first start. It lives in `seal.keyDir`, by default outside the log directory
 * (`$XDG_STATE_HOME/agentrail/keys`, for root `/var/lib/agentrail/keys`): a verifier key next to the
 * log proves nothing against whoever can write the log (they re-sign and swap the public key).
 * Log directories from before keep working: a key found at the old `<log-dir>/keys/` is used, with
 * a warning.
 */
import { existsSync, linkSync, mkdirSync, readFileSync, realpathSync, unlinkSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, relative, isAbsolute } from 'node:path';
import { AgentrailError } from '../errors.js';
import { childLogger } from '../observability/logger.js';
import type { SealConfig } from '../config/seal.js';
import { formatVerifierKey, generateKey, KeySet, parseSignerKeyText } from './keys.js';

const log = childLogger('seal');
export const SIGNER_FILE = 'agentrail.key';
export const VERIFIER_FILE = 'agentrail.pub';

/** `$XDG_STATE_HOME/agentrail/keys`; for root without XDG_STATE_HOME `/var/lib/agentrail/keys`; else `~/.local/state/agentrail/keys`. */
export function defaultKeyDir(env: NodeJS.ProcessEnv = process.env, uid = process.getuid?.() ?? -1): string {
  if (env.XDG_STATE_HOME && isAbsolute(env.XDG_STATE_HOME)) return join(env.XDG_STATE_HOME, 'agentrail', 'keys');
  if (uid === 0) return '/var/lib/agentrail/keys';
  return join(homedir(), '.local', 'state', 'agentrail', 'keys');
}

function inside(child: string, parent: string): boolean {
  const real = (p: string) => {
    try {
      return realpathSync(p);
    } catch {
      return p;
    }
  };
  const r = relative(real(parent), real(child));
  return r === '' || (!r.startsWith('..') && !isAbsolute(r));
}

/** Create `path` with `text` only if it does not exist (temp + link: concurrent starters agree on one key). */
function createExclusive(path: string, text: string, mode: number): boolean {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, text, { mode });
  try {
    linkSync(tmp, path);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  } finally {
    unlinkSync(tmp);
  }
}

/** Where the default key pair is, and whether it was just generated. */
export interface DefaultKeyFiles {
  signer: string;
  verifier: string;
  generated: boolean;
  legacy: boolean;
}

export function ensureDefaultKey(seal: Pick<SealConfig, 'keyDir'>, logDir: string, keyName: string): DefaultKeyFiles {
  const legacyDir = join(logDir, 'keys');
  if (existsSync(join(legacyDir, SIGNER_FILE))) {
    return { signer: join(legacyDir, SIGNER_FILE), verifier: join(legacyDir, VERIFIER_FILE), generated: false, legacy: true };
  }
  const dir = seal.keyDir ?? defaultKeyDir();
  const signer = join(dir, SIGNER_FILE);
  const verifier = join(dir, VERIFIER_FILE);
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    let generated = false;
    if (!existsSync(signer)) {
      const k = generateKey(`agentrail-${keyName.replace(/[^A-Za-z0-9._-]/g, '-')}`);
      generated = createExclusive(signer, k.signer + '\n', 0o600);
    }
    // The verifier key is derived from the signer actually stored (another starter may have won).
    if (!existsSync(verifier)) createExclusive(verifier, formatVerifierKey(parseSignerKeyText(readFileSync(signer, 'utf8'), signer)) + '\n', 0o644);
    return { signer, verifier, generated, legacy: false };
  } catch (e) {
    if (e instanceof AgentrailError) throw e;
    throw new AgentrailError('PERM_KEY_DIR', `cannot create the default signing key in ${dir}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`, {
      cause: e,
      hint: 'set seal.keyDir to a writable directory outside the log directory, or configure seal.keys',
    });
  }
}

/** The sensor's signing keys: `seal.keys` when configured, else the default key (generated once). */
export function defaultKeys(seal: Pick<SealConfig, 'keys' | 'keyDir'>, logDir: string, keyName: string): KeySet {
  if (seal.keys.length > 0) return KeySet.fromFiles(seal.keys);
  const k = ensureDefaultKey(seal, logDir, keyName);
  if (k.legacy) {
    log.warn({ signer: k.signer, verifier: k.verifier }, 'the signing key sits inside the log directory (location before 0.2): whoever can write the log can re-sign it; move it out (seal.keys or seal.keyDir) and verify with a copy of the verifier key kept elsewhere');
  } else if (k.generated) {
    log.warn({ signer: k.signer, verifier: k.verifier }, `generated a signing key; verify with a copy of ${k.verifier} kept where the agent cannot write (configure seal.keys from a Secret in production)`);
  }
  if (!k.legacy && inside(k.signer, logDir)) log.warn({ signer: k.signer }, 'seal.keyDir is inside the log directory: whoever can write the log can re-sign it');
  return KeySet.fromFiles([{ file: k.signer }]);
}

/**
 * The deployment HMAC key's file when `seal.hmacKeyFile` is not set: beside the default signing key
 * in `seal.keyDir` (outside the log directory, kept like the signing key), except that a key left
 * at the location before 0.2 (`<log-dir>/keys/agentrail.hmac`) keeps being used so that hashes
 * stay comparable across the upgrade.
 */
export function defaultHmacKeyFile(seal: Pick<SealConfig, 'keyDir'>, logDir: string): string {
  const legacy = join(logDir, 'keys', 'agentrail.hmac');
  if (existsSync(legacy)) return legacy;
  return join(seal.keyDir ?? defaultKeyDir(), 'agentrail.hmac');
}
