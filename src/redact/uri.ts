import { keyedHex } from './keyed-hash.js';
import { sha256Hex } from './hash.js';
import { MALFORMED_URI_MARK, decodeUriComponentSafe } from '../protocol/uri-decode.js';
import type { Classifier } from '../classify/classifier.js';

/**
 * Resource URIs without values: query strings keep their keys only, user info
 * is dropped, and any path segment that a content detector flags (an email, a
 * token in a URL path) is replaced by `~h:<hash prefix>`. Cloud object URLs
 * become `s3://`, `gs://`, `azblob://` paths.
 */
function hseg(seg: string): string {
  // Keyed: a short segment (a name, an account id) must not be confirmable by guessing.
  return `~h:${keyedHex('segment', seg).slice(0, 16)}`;
}

export function redactPathSegments(path: string, cls?: Classifier): string {
  if (!cls) return path;
  return path
    .split('/')
    .map((seg) => (seg && cls.text(safeDecode(seg)).size > 0 ? hseg(seg) : seg))
    .join('/');
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

export function fileUri(path: string, cls?: Classifier): string {
  const p = redactPathSegments(path, cls);
  return p.startsWith('/') ? `file://${p}` : `file:${p}`;
}

export interface HttpResource {
  uri: string;
  type: 'url' | 'object';
}

export function httpResourceUri(scheme: 'https' | 'http', authority: string, pathAndQuery: string, cls?: Classifier): HttpResource {
  const host = authority.replace(/^[^@]*@/, '').toLowerCase();
  const qi = pathAndQuery.indexOf('?');
  const rawPath = (qi >= 0 ? pathAndQuery.slice(0, qi) : pathAndQuery).split('#')[0] || '/';
  const keys = qi >= 0 ? queryKeys(pathAndQuery.slice(qi + 1)) : [];
  const path = redactPathSegments(rawPath, cls);
  const query = keys.length ? `?${keys.map((k) => `${k}=`).join('&')}` : '';
  const hostNoPort = host.replace(/:\d+$/, '');
  let m: RegExpExecArray | null;
  // Virtual-hosted and path-style S3, GCS, Azure Blob.
  if ((m = /^([a-z0-9.-]+)\.s3[.-](?:[a-z0-9-]+\.)?amazonaws\.com$/.exec(hostNoPort))) return { uri: `s3://${m[1]}${path}`, type: 'object' };
  if (/^s3[.-](?:[a-z0-9-]+\.)?amazonaws\.com$/.test(hostNoPort)) return { uri: `s3:/${path}`, type: 'object' };
  if (hostNoPort === 'storage.googleapis.com') return { uri: `gs:/${path.replace(/^\/(?:storage\/v1\/b\/|upload\/storage\/v1\/b\/)?/, '/')}`, type: 'object' };
  if ((m = /^([a-z0-9]+)\.blob\.core\.windows\.net$/.exec(hostNoPort))) return { uri: `azblob://${m[1]}${path}`, type: 'object' };
  return { uri: `${scheme}://${host}${path}${query}`, type: 'url' };
}

function queryKeys(q: string): string[] {
  const out: string[] = [];
  for (const part of q.split('&')) {
    if (!part) continue;
    const k = part.split('=')[0] ?? '';
    // A key is metadata, but a key that is itself data (a token as key) is hashed.
    out.push(/^[A-Za-z0-9_.\-[\]]{1,64}$/.test(k) ? k : hseg(k));
  }
  return out;
}

/**
 * URI of a connection seen only by the kernel: `tls://name:port` when the
 * first bytes were a ClientHello, `http://name:port` for a plaintext request,
 * `dns://addr:53`, else `tcp://` or `udp://`. A host label that a detector
 * flags (a secret smuggled out as a DNS label) is hashed like a path segment.
 */
export function connectionUri(scheme: string, host: string, port: number, cls?: Classifier): string {
  const h = host.includes(':') ? `[${host}]` : host.split('.').map((l) => (l && cls && cls.text(l).size > 0 ? hseg(l) : l)).join('.');
  return `${scheme}://${h}:${port}`;
}

/**
 * An MCP resource URI as it may appear in the log: `file://` paths as file
 * URIs (a malformed percent-encoding kept and marked), other schemes through
 * the URL redaction, anything else a short hash.
 */
export function mcpResourceUri(u: string, cls: Classifier): string {
  const m = /^([a-z][a-z0-9+.-]*):\/\/([^/?#]*)([^?#]*)(\?[^#]*)?/i.exec(u);
  if (!m) return u.startsWith('/') ? fileUri(u, cls) : `mcp:${sha256Hex(u).slice(0, 16)}`;
  if (m[1]!.toLowerCase() === 'file') {
    const p = decodeUriComponentSafe(m[3] ?? '');
    return p.malformed ? fileUri(p.value, cls) + MALFORMED_URI_MARK : fileUri(p.value, cls);
  }
  const scheme = m[1]!.toLowerCase();
  const r = httpResourceUri('https', m[2] ?? '', `${m[3] || '/'}${m[4] ?? ''}`, cls);
  return r.uri.replace(/^https:/, `${scheme}:`);
}
