/**
 * Throwaway TLS material and a byte-exact HTTPS/1.1 test server.
 *
 * `makeTestCa()` generates, at test time with the `openssl` CLI, a CA and a
 * server certificate for localhost / 127.0.0.1 / ::1 into a fresh temp dir and
 * returns the paths (reusable by any local HTTPS mock: pass `certPath` and
 * `keyPath` to the server, `caPath` to the clients: `--cacert`, `cafile=`,
 * `NODE_EXTRA_CA_CERTS`, `ca:`). `removeTestCa()` deletes the dir.
 *
 * `startRawHttpsServer()` speaks HTTP/1.1 by hand over `tls.createServer`, so
 * it knows exactly which plaintext bytes each connection received and sent:
 * the TLS capture tests compare those with what the sensor captured. One
 * request per connection (the response carries `Connection: close`).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import type { AddressInfo } from 'node:net';

export interface TestCa {
  dir: string;
  caPath: string;
  certPath: string;
  keyPath: string;
}

/** Generate a throwaway CA and a server certificate it signed (valid 2 days). */
export function makeTestCa(hosts: string[] = ['localhost']): TestCa {
  const dir = mkdtempSync(join(tmpdir(), 'agentrail-ca-'));
  const caKey = join(dir, 'ca.key');
  const caPath = join(dir, 'ca.pem');
  const keyPath = join(dir, 'server.key');
  const csr = join(dir, 'server.csr');
  const certPath = join(dir, 'server.pem');
  const ext = join(dir, 'server.ext');
  const run = (args: string[]) => execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  run(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', caKey, '-out', caPath, '-days', '2',
    '-subj', '/CN=agentrail test CA', '-addext', 'basicConstraints=critical,CA:TRUE',
    '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  run(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyPath, '-out', csr, '-subj', `/CN=${hosts[0] ?? 'localhost'}`]);
  const san = [...hosts.map((h) => `DNS:${h}`), 'IP:127.0.0.1', 'IP:::1'].join(',');
  writeFileSync(ext, `basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=${san}\n`);
  run(['x509', '-req', '-in', csr, '-CA', caPath, '-CAkey', caKey, '-CAcreateserial', '-out', certPath, '-days', '2',
    '-sha256', '-extfile', ext]);
  return { dir, caPath, certPath, keyPath };
}

export function removeTestCa(ca: TestCa): void {
  rmSync(ca.dir, { recursive: true, force: true });
}

export interface RawExchange {
  /** Plaintext bytes the server received on this connection (request line + headers + body). */
  received: Buffer;
  /** Plaintext bytes the server sent (status line + headers + body). */
  sent: Buffer;
  requestLine: string;
  body: Buffer;
  remotePort: number;
}

export interface RawHttpsServer {
  port: number;
  exchanges: RawExchange[];
  /** Resolves once `n` exchanges have completed (response fully written). */
  waitFor(n: number, timeoutMs?: number): Promise<RawExchange[]>;
  close(): Promise<void>;
}

/** Deterministic, non-repeating-looking response bytes of length n (printable). */
export function patternBody(n: number, seed = 1): Buffer {
  const b = Buffer.alloc(n);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    b[i] = 0x21 + (x % 94);
  }
  return b;
}

/**
 * Start the server on 127.0.0.1. The response body has `responseBytes(path)`
 * bytes of `patternBody` (default: 50,000, i.e. several TLS records), with a
 * Content-Length (no chunking), so the client sees exactly `sent`.
 */
export async function startRawHttpsServer(
  ca: TestCa,
  responseBytes: (path: string) => number = () => 50_000,
): Promise<RawHttpsServer> {
  const exchanges: RawExchange[] = [];
  const waiters: Array<() => void> = [];
  const server = tls.createServer({ key: readFileSync(ca.keyPath), cert: readFileSync(ca.certPath), ALPNProtocols: ['http/1.1'] });
  server.on('secureConnection', (sock) => {
    const chunks: Buffer[] = [];
    let done = false;
    sock.on('error', () => {});
    sock.on('data', (d: Buffer) => {
      if (done) return;
      chunks.push(d);
      const all = Buffer.concat(chunks);
      const end = all.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = all.subarray(0, end).toString('latin1');
      const m = /\r\ncontent-length:\s*(\d+)/i.exec(head);
      const len = m ? Number(m[1]) : 0;
      if (/\r\ntransfer-encoding:\s*chunked/i.test(head)) {
        // Not needed by the tests' clients; fail loudly rather than guess.
        done = true;
        sock.destroy(new Error('chunked request bodies are not supported by the test server'));
        return;
      }
      if (all.length < end + 4 + len) return;
      done = true;
      const received = all.subarray(0, end + 4 + len);
      const requestLine = head.split('\r\n', 1)[0] ?? '';
      const path = requestLine.split(' ')[1] ?? '/';
      const body = patternBody(responseBytes(path), received.length);
      const sent = Buffer.concat([
        Buffer.from(`HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`, 'latin1'),
        body,
      ]);
      sock.end(sent, () => {
        exchanges.push({ received, sent, requestLine, body: received.subarray(end + 4), remotePort: sock.remotePort ?? 0 });
        for (const w of waiters.splice(0)) w();
      });
    });
  });
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    exchanges,
    waitFor(n: number, timeoutMs = 20_000) {
      return new Promise((res, rej) => {
        const timer = setTimeout(() => rej(new Error(`test HTTPS server: ${exchanges.length}/${n} exchanges after ${timeoutMs} ms`)), timeoutMs);
        const check = () => {
          if (exchanges.length >= n) {
            clearTimeout(timer);
            res(exchanges);
          } else waiters.push(check);
        };
        check();
      });
    },
    close() {
      return new Promise<void>((res) => server.close(() => res()));
    },
  };
}
