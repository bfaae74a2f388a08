import net from 'node:net';
import http2 from 'node:http2';
import { spawn } from 'node:child_process';
import type { TlsData } from '../../src/contracts/raw-event.js';
import { Capture } from './capture.js';

/** Bytes seen on a connection, in arrival order: dir 0 = client → server, 1 = server → client. */
export type Tap = Array<{ dir: 0 | 1; buf: Buffer }>;

/**
 * A loopback TCP relay in front of a real h2c server: every byte that crosses
 * it is recorded, as the TLS uprobes would see the plaintext of the client.
 */
export async function withH2cServer<T>(
  handler: (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => void,
  client: (port: number) => Promise<T>,
): Promise<{ result: T; taps: Tap[] }> {
  const server = http2.createServer({ settings: { maxHeaderListSize: 1 << 20 } }, handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const sport = (server.address() as net.AddressInfo).port;
  const taps: Tap[] = [];
  const relay = net.createServer((down) => {
    const tap: Tap = [];
    taps.push(tap);
    const up = net.connect(sport, '127.0.0.1');
    down.on('data', (b: Buffer) => {
      tap.push({ dir: 0, buf: Buffer.from(b) });
      up.write(b);
    });
    up.on('data', (b: Buffer) => {
      tap.push({ dir: 1, buf: Buffer.from(b) });
      down.write(b);
    });
    down.on('close', () => up.destroy());
    up.on('close', () => down.destroy());
    down.on('error', () => up.destroy());
    up.on('error', () => down.destroy());
  });
  await new Promise<void>((r) => relay.listen(0, '127.0.0.1', r));
  const port = (relay.address() as net.AddressInfo).port;
  try {
    const result = await client(port);
    await new Promise((r) => setTimeout(r, 50));
    return { result, taps };
  } finally {
    await new Promise((r) => relay.close(r));
    server.close();
  }
}

/** Run a client request with node:http2 and wait for the whole answer. */
export function h2Request(session: http2.ClientHttp2Session, headers: http2.OutgoingHttpHeaders, body?: Buffer): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = session.request(headers);
    const parts: Buffer[] = [];
    let status = 0;
    req.on('response', (h) => (status = Number(h[':status'])));
    req.on('data', (d: Buffer) => parts.push(d));
    req.on('end', () => resolve({ status, body: Buffer.concat(parts) }));
    req.on('error', reject);
    if (body) req.end(body);
    else req.end();
  });
}

export function curl(args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    const p = spawn('curl', args, { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.on('error', () => resolve({ code: -1, out }));
    p.on('close', (code) => resolve({ code: code ?? -1, out }));
  });
}

/** Turn a tap into TLS events (one SSL call per TCP read/write). */
export function tapEvents(tap: Tap, c = new Capture(77, 0xc0ffeen, 11, 1 << 30)): TlsData[] {
  return tap.flatMap((t) => c.call(t.dir, t.buf));
}
