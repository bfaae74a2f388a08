import { decodeJwt, decodeProtectedHeader } from 'jose';
import picomatch from 'picomatch';
import type { Classifier } from '../classify/classifier.js';
import { jwtValid } from '../classify/detectors.js';
import { keyIdHash } from './hash.js';

/**
 * Credentials presented in request headers, reduced to what an audit needs:
 * a key id hash (never the key), and for JWTs the decoded claims of an
 * allow-list, each claim value checked by the content detectors (a claim that
 * is an email becomes its hash). Scopes asserted by the token are compared to
 * the scopes configuration grants.
 */
export interface PresentedCredential {
  type: 'api_key' | 'bearer_token' | 'jwt';
  keyIdHash: string;
  claims: Record<string, unknown> | null;
  assertedScope: string[];
}

const CLAIMS = ['iss', 'sub', 'aud', 'exp', 'iat', 'nbf', 'azp', 'client_id', 'scope', 'scp', 'roles', 'groups', 'tid', 'oid', 'appid', 'kubernetes.io', 'jti'];
const CREDENTIAL_HEADERS = new Set(['authorization', 'proxy-authorization', 'x-api-key', 'api-key', 'x-goog-api-key', 'x-amz-security-token', 'private-token', 'x-auth-token']);

export function credentialsFromHeaders(headers: Array<[string, string]>, authority: string, cls?: Classifier): PresentedCredential[] {
  const out: PresentedCredential[] = [];
  for (const [name, value] of headers) {
    if (!CREDENTIAL_HEADERS.has(name) || !value) continue;
    let secret = value.trim();
    let type: PresentedCredential['type'] = 'api_key';
    const m = /^(Bearer|Basic|token|Token)\s+(.+)$/.exec(secret);
    if (m) {
      secret = m[2]!.trim();
      type = m[1] === 'Basic' ? 'api_key' : 'bearer_token';
    }
    if (name === 'authorization' && m?.[1] === 'Basic') type = 'api_key';
    let claims: Record<string, unknown> | null = null;
    let asserted: string[] = [];
    if (jwtValid(secret)) {
      type = 'jwt';
      claims = safeClaims(secret, cls);
      asserted = scopesOf(claims);
    }
    if (asserted.length === 0) asserted = [authority.replace(/:\d+$/, '').toLowerCase() || 'unknown'];
    out.push({ type, keyIdHash: keyIdHash(secret), claims, assertedScope: asserted });
  }
  return out;
}

function safeClaims(tok: string, cls?: Classifier): Record<string, unknown> {
  const p = decodeJwt(tok) as Record<string, unknown>;
  const h = decodeProtectedHeader(tok);
  const out: Record<string, unknown> = { alg: h.alg ?? null };
  if (h.kid !== undefined) out.kid = String(h.kid);
  for (const k of CLAIMS) {
    if (!(k in p)) continue;
    out[k] = scrub(p[k], cls, 0);
  }
  return out;
}

function scrub(v: unknown, cls: Classifier | undefined, depth: number): unknown {
  if (typeof v === 'string') return cls && cls.text(v).size > 0 ? keyIdHash(v) : v;
  if (typeof v === 'number' || typeof v === 'boolean' || v === null) return v;
  if (Array.isArray(v)) return v.slice(0, 32).map((x) => scrub(x, cls, depth + 1));
  if (v && typeof v === 'object' && depth < 3) {
    const o: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v).slice(0, 32)) o[k] = scrub(x, cls, depth + 1);
    return o;
  }
  return null;
}

function scopesOf(c: Record<string, unknown>): string[] {
  const s = c.scope ?? c.scp ?? c.roles;
  if (typeof s === 'string') return s.split(/\s+/).filter(Boolean);
  if (Array.isArray(s)) return s.filter((x): x is string => typeof x === 'string');
  return [];
}

/** Granted scopes from configuration: keyed by workload id, service account or `*` (globs allowed in keys and values). */
export function grantedScopeFor(map: Record<string, string[]> | undefined, keys: Array<string | null | undefined>): string[] | null {
  if (!map) return null;
  let found: string[] | null = null;
  for (const [pattern, scopes] of Object.entries(map)) {
    if (pattern === '*') continue;
    const isM = picomatch(pattern, { dot: true });
    if (keys.some((k) => k && isM(k))) found = [...(found ?? []), ...scopes];
  }
  if (found === null && map['*']) found = [...map['*']];
  return found;
}

export function withinGranted(asserted: string[], granted: string[] | null): boolean | null {
  if (granted === null) return null;
  const ms = granted.map((g) => picomatch(g, { dot: true }));
  return asserted.every((a) => ms.some((m) => m(a)));
}
