import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A self-signed certificate for 127.0.0.1, made with the openssl CLI. */
export function selfSignedCert(): { key: Buffer; cert: Buffer } {
  const d = mkdtempSync(join(tmpdir(), 'agentrail-ca-'));
  try {
    const r = spawnSync('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
      '-keyout', join(d, 'k.pem'), '-out', join(d, 'c.pem'), '-days', '1', '-subj', '/CN=127.0.0.1',
      '-addext', 'subjectAltName=IP:127.0.0.1',
    ]);
    if (r.status !== 0) throw new Error(`openssl failed: ${r.stderr.toString()}`);
    return { key: readFileSync(join(d, 'k.pem')), cert: readFileSync(join(d, 'c.pem')) };
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
}

export type Handler = (req: IncomingMessage, url: URL, res: ServerResponse) => void;

/** Local HTTPS server standing in for the API server; records every request. */
export class FakeKubeApi {
  readonly requests: Array<{ path: string; query: URLSearchParams; auth?: string }> = [];
  private server: Server;
  private open = new Set<ServerResponse>();
  constructor(
    readonly tls: { key: Buffer; cert: Buffer },
    private handler: Handler,
  ) {
    this.server = createServer(tls, (req, res) => {
      const url = new URL(req.url ?? '/', 'https://127.0.0.1');
      this.requests.push({ path: url.pathname, query: url.searchParams, auth: req.headers.authorization });
      this.open.add(res);
      res.on('close', () => this.open.delete(res));
      this.handler(req, url, res);
    });
  }
  async start(): Promise<string> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', () => r()));
    return `https://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }
  async stop(): Promise<void> {
    for (const r of this.open) r.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

export function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

export function status(res: ServerResponse, code: number, reason: string): void {
  json(res, code, { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason, code });
}
