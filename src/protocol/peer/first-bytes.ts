/**
 * Names the peer of a connection from the first bytes the client wrote, with
 * no TLS library involved: a TLS ClientHello carries the server name (SNI)
 * and the protocols offered (ALPN) in clear; a plaintext HTTP/1.x request
 * carries Host. Everything else is "unknown". Bounded and total: garbage
 * gives a reason, never an exception.
 */

export type FirstBytes =
  | { protocol: 'tls'; sni: string | null; alpn: string[]; version: string }
  | { protocol: 'http'; host: string | null }
  | { protocol: 'unknown'; reason: string };

const HOSTNAME = /^[A-Za-z0-9._-]{1,253}$/;
const ALPN_ID = /^[\x21-\x7e]{1,64}$/;
const HTTP_METHOD = /^(GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS|CONNECT|TRACE|PRI) /;

export function parseFirstBytes(b: Buffer): FirstBytes {
  if (b.length >= 5 && b[0] === 0x16 && b[1] === 0x03) return parseClientHello(b);
  const head = b.subarray(0, 16).toString('latin1');
  if (HTTP_METHOD.test(head)) return parseHttpHost(b);
  return { protocol: 'unknown', reason: b.length === 0 ? 'empty' : 'not_tls_or_http' };
}

function parseHttpHost(b: Buffer): FirstBytes {
  // Only the head is read; the value is bounded and charset-checked because
  // the client (the agent) controls it.
  const end = b.indexOf('\r\n\r\n');
  const text = b.subarray(0, end < 0 ? b.length : end).toString('latin1');
  for (const line of text.split('\r\n').slice(1)) {
    const i = line.indexOf(':');
    if (i > 0 && line.slice(0, i).trim().toLowerCase() === 'host') {
      const host = line.slice(i + 1).trim().replace(/:\d{1,5}$/, '');
      return { protocol: 'http', host: HOSTNAME.test(host) ? host.toLowerCase() : null };
    }
  }
  return { protocol: 'http', host: null };
}

/**
 * RFC 8446 §4.1.2 ClientHello inside a TLS record (RFC 8446 §5.1). Only the
 * first record is looked at; a ClientHello split across records (post-quantum
 * key shares make it ~1.8 KB) is still parsed as far as the bytes go, since
 * SNI usually precedes the key share, and a cut is reported as such.
 */
function parseClientHello(b: Buffer): FirstBytes {
  let p = 5;
  if (b[p] !== 0x01) return { protocol: 'unknown', reason: 'tls_not_client_hello' };
  const hsLen = (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!;
  p += 4;
  const end = Math.min(b.length, p + hsLen);
  const version = p + 2 <= end ? `${b[p]}.${b[p + 1]}` : '?';
  p += 2 + 32; // legacy_version, random
  if (p >= end) return { protocol: 'unknown', reason: 'tls_truncated' };
  p += 1 + b[p]!; // session id
  if (p + 2 > end) return { protocol: 'unknown', reason: 'tls_truncated' };
  p += 2 + b.readUInt16BE(p); // cipher suites
  if (p >= end) return { protocol: 'unknown', reason: 'tls_truncated' };
  p += 1 + b[p]!; // compression methods
  if (p + 2 > end) return { protocol: 'tls', sni: null, alpn: [], version }; // no extensions at all
  const extEnd = Math.min(end, p + 2 + b.readUInt16BE(p));
  p += 2;
  let sni: string | null = null;
  const alpn: string[] = [];
  while (p + 4 <= extEnd) {
    const type = b.readUInt16BE(p);
    const len = b.readUInt16BE(p + 2);
    const body = p + 4;
    if (body + len > extEnd) break; // cut: keep what was read so far
    if (type === 0x0000 && len >= 5) {
      // server_name_list: u16 list len, then (u8 type, u16 len, name)
      const nameType = b[body + 2];
      const nameLen = b.readUInt16BE(body + 3);
      if (nameType === 0 && body + 5 + nameLen <= body + len) {
        const name = b.toString('latin1', body + 5, body + 5 + nameLen);
        if (HOSTNAME.test(name)) sni = name.toLowerCase();
      }
    } else if (type === 0x0010 && len >= 2) {
      let q = body + 2;
      const listEnd = Math.min(body + len, body + 2 + b.readUInt16BE(body));
      while (q < listEnd && alpn.length < 16) {
        const n = b[q]!;
        const id = b.toString('latin1', q + 1, Math.min(q + 1 + n, listEnd));
        if (ALPN_ID.test(id)) alpn.push(id);
        q += 1 + n;
      }
    }
    p = body + len;
  }
  return { protocol: 'tls', sni, alpn, version };
}
