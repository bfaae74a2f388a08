import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { childLogger } from './logger.js';
import { registry as defaultRegistry } from './metrics.js';

const log = childLogger('health');

/** A check answers true when healthy; a string is a failure reason (a code, never captured content). */
export type Check = () => boolean | string | Promise<boolean | string>;

export interface HealthServerOptions {
  host?: string;
  /** 0 picks a free port (tests). */
  port?: number;
  /** What /metrics serves; a sharded pipeline passes the main thread's registry merged with its workers'. */
  registry?: Pick<Registry, 'contentType' | 'metrics'>;
  /** Per-check timeout so a hung check fails the probe instead of hanging kubelet. */
  checkTimeoutMs?: number;
}

/**
 * /healthz (liveness: the event loop answers and liveness checks pass),
 * /readyz (readiness: every readiness check passes, e.g. "probes attached",
 * "sink writable"), /metrics (Prometheus text format from the registry),
 * /status (the sensor's coverage, when set).
 * Probe bodies are JSON naming each check and its state.
 */
export class HealthServer {
  private server: Server | undefined;
  private live = new Map<string, Check>();
  private ready = new Map<string, Check>();
  private readonly registry: Pick<Registry, 'contentType' | 'metrics'>;
  private statusOf: (() => unknown) | undefined;

  constructor(private readonly opts: HealthServerOptions = {}) {
    this.registry = opts.registry ?? defaultRegistry;
  }

  addLivenessCheck(name: string, check: Check): this {
    this.live.set(name, check);
    return this;
  }

  /** Readiness is false until every registered check passes; with none registered, not ready. */
  addReadinessCheck(name: string, check: Check): this {
    this.ready.set(name, check);
    return this;
  }

  /** GET /status answers this JSON (`agentrail status`: the sensor's per-binary coverage). */
  setStatus(of: () => unknown): this {
    this.statusOf = of;
    return this;
  }

  async start(): Promise<{ host: string; port: number }> {
    const server = createServer((req, res) => {
      const url = (req.url ?? '/').split('?')[0];
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { allow: 'GET, HEAD' }).end();
        return;
      }
      const send = (status: number, type: string, body: string) => {
        res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
        res.end(req.method === 'HEAD' ? undefined : body);
      };
      const probe = async (checks: Map<string, Check>, emptyOk: boolean) => {
        const r = await this.run(checks);
        const ok = r.ok && (emptyOk || checks.size > 0);
        send(ok ? 200 : 503, 'application/json', JSON.stringify({ status: ok ? 'ok' : 'fail', checks: r.results }) + '\n');
      };
      (async () => {
        if (url === '/healthz' || url === '/livez') await probe(this.live, true);
        else if (url === '/readyz') await probe(this.ready, false);
        else if (url === '/metrics') send(200, this.registry.contentType, await this.registry.metrics());
        else if (url === '/status' && this.statusOf) send(200, 'application/json', JSON.stringify(this.statusOf()) + '\n');
        else send(404, 'text/plain', 'not found\n');
      })().catch((e: Error) => {
        log.error({ code: 'HEALTH_HANDLER', err: e.message }, 'health handler failed');
        if (!res.headersSent) send(500, 'text/plain', 'internal error\n');
      });
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.opts.port ?? 9469, this.opts.host ?? '127.0.0.1', () => resolve());
    });
    const a = server.address() as AddressInfo;
    log.info({ host: a.address, port: a.port }, 'health and metrics server listening');
    return { host: a.address, port: a.port };
  }

  async stop(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (!s) return;
    s.closeAllConnections?.();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  private async run(checks: Map<string, Check>): Promise<{ ok: boolean; results: Record<string, string> }> {
    const results: Record<string, string> = {};
    let ok = true;
    const timeout = this.opts.checkTimeoutMs ?? 2000;
    await Promise.all(
      [...checks].map(async ([name, check]) => {
        let r: boolean | string;
        try {
          r = await Promise.race([
            Promise.resolve().then(check),
            new Promise<string>((res) => setTimeout(() => res('timeout'), timeout).unref()),
          ]);
        } catch (e) {
          r = (e as { code?: string }).code ?? 'error';
        }
        if (r === true) results[name] = 'ok';
        else {
          ok = false;
          results[name] = r === false ? 'fail' : r;
        }
      }),
    );
    return { ok, results };
  }
}
