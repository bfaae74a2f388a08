import { readFileSync } from 'node:fs';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { parse as parseYaml } from 'yaml';
import { AgentrailError } from '../../errors.js';

/**
 * Minimal Kubernetes API client on node:http(s): the sensor needs only GET,
 * list with pagination and a streaming watch on pods, so a full client
 * library (and its dependency tree) is not worth carrying in a privileged
 * DaemonSet. node's fetch cannot take a custom CA without undici internals,
 * hence node:https.
 */
export interface KubeApiOptions {
  /** https://host:port */
  server: string;
  /** Bearer token, or a file re-read on every request (projected tokens rotate). */
  token?: string;
  tokenFile?: string;
  /** PEM CA bundle. */
  ca?: string | Buffer;
  cert?: string | Buffer;
  key?: string | Buffer;
  insecureSkipTlsVerify?: boolean;
  /** Per-request timeout for non-watch requests. */
  timeoutMs?: number;
}

export const IN_CLUSTER_SA_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/** In-cluster configuration from KUBERNETES_SERVICE_HOST/PORT and the mounted service account. */
export function inClusterOptions(env: NodeJS.ProcessEnv = process.env, saDir = IN_CLUSTER_SA_DIR): KubeApiOptions {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT ?? '443';
  if (!host) {
    throw new AgentrailError('K8S_NOT_IN_CLUSTER', 'KUBERNETES_SERVICE_HOST is not set', {
      hint: 'set kubernetes.api to kubeconfig or none outside a pod',
    });
  }
  let ca: Buffer;
  try {
    ca = readFileSync(`${saDir}/ca.crt`);
  } catch (e) {
    throw new AgentrailError('K8S_NO_CA', `cannot read ${saDir}/ca.crt`, { cause: e });
  }
  const h = host.includes(':') ? `[${host}]` : host;
  return { server: `https://${h}:${port}`, tokenFile: `${saDir}/token`, ca };
}

interface KubeconfigFile {
  'current-context'?: string;
  contexts?: Array<{ name: string; context: { cluster: string; user: string } }>;
  clusters?: Array<{ name: string; cluster: Record<string, unknown> }>;
  users?: Array<{ name: string; user: Record<string, unknown> }>;
}

/** Options from a kubeconfig file (current context; token or client certificate auth). */
export function kubeconfigOptions(path: string): KubeApiOptions {
  let doc: KubeconfigFile;
  try {
    doc = parseYaml(readFileSync(path, 'utf8')) as KubeconfigFile;
  } catch (e) {
    throw new AgentrailError('K8S_KUBECONFIG', `cannot read kubeconfig ${path}`, { cause: e });
  }
  const ctxName = doc['current-context'];
  const ctx = doc.contexts?.find((c) => c.name === ctxName)?.context ?? doc.contexts?.[0]?.context;
  const cluster = doc.clusters?.find((c) => c.name === ctx?.cluster)?.cluster ?? doc.clusters?.[0]?.cluster;
  const user = doc.users?.find((u) => u.name === ctx?.user)?.user ?? doc.users?.[0]?.user ?? {};
  if (!cluster || typeof cluster.server !== 'string') {
    throw new AgentrailError('K8S_KUBECONFIG', `kubeconfig ${path} has no cluster server`);
  }
  const b64 = (v: unknown) => (typeof v === 'string' ? Buffer.from(v, 'base64') : undefined);
  const file = (v: unknown) => (typeof v === 'string' ? readFileSync(v) : undefined);
  return {
    server: cluster.server,
    ca: b64(cluster['certificate-authority-data']) ?? file(cluster['certificate-authority']),
    insecureSkipTlsVerify: cluster['insecure-skip-tls-verify'] === true,
    token: typeof user.token === 'string' ? user.token : undefined,
    tokenFile: typeof user.tokenFile === 'string' ? user.tokenFile : undefined,
    cert: b64(user['client-certificate-data']) ?? file(user['client-certificate']),
    key: b64(user['client-key-data']) ?? file(user['client-key']),
  };
}

export class KubeApiError extends AgentrailError {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(status === 410 ? 'K8S_GONE' : 'K8S_API', message, { retriable: status !== 403 && status !== 401 });
  }
}

export class KubeApi {
  constructor(private readonly opts: KubeApiOptions) {}

  private bearer(): string | undefined {
    if (this.opts.tokenFile) {
      try {
        return readFileSync(this.opts.tokenFile, 'utf8').trim();
      } catch {
        return this.opts.token;
      }
    }
    return this.opts.token;
  }

  /** Open a request; resolves with the response once headers arrive. */
  open(path: string, signal?: AbortSignal, timeoutMs = this.opts.timeoutMs ?? 15_000): Promise<IncomingMessage> {
    const url = new URL(path, this.opts.server);
    const headers: Record<string, string> = { accept: 'application/json' };
    const tok = this.bearer();
    if (tok) headers.authorization = `Bearer ${tok}`;
    const isHttps = url.protocol === 'https:';
    const req = (isHttps ? httpsRequest : httpRequest)(url, {
      method: 'GET',
      headers,
      ...(isHttps
        ? { ca: this.opts.ca, cert: this.opts.cert, key: this.opts.key, rejectUnauthorized: !this.opts.insecureSkipTlsVerify }
        : {}),
      signal,
      timeout: timeoutMs,
    });
    return new Promise((resolve, reject) => {
      req.on('response', resolve);
      req.on('timeout', () => req.destroy(new KubeApiError(0, `timeout after ${timeoutMs} ms on ${url.pathname}`)));
      req.on('error', reject);
      req.end();
    });
  }

  /** GET returning parsed JSON; non-2xx becomes KubeApiError carrying the status (the body is not echoed). */
  async getJson<T>(path: string, signal?: AbortSignal): Promise<T> {
    const res = await this.open(path, signal);
    const chunks: Buffer[] = [];
    for await (const c of res) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    const status = res.statusCode ?? 0;
    if (status < 200 || status >= 300) {
      let reason = '';
      try {
        reason = String((JSON.parse(body) as { reason?: string }).reason ?? '');
      } catch {
        /* not a Status object */
      }
      throw new KubeApiError(status, `GET ${new URL(path, this.opts.server).pathname} → ${status}${reason ? ` ${reason}` : ''}`);
    }
    return JSON.parse(body) as T;
  }

  /**
   * Stream a watch: yields one parsed JSON object per line. The caller aborts
   * through `signal`; the server ends the stream at timeoutSeconds.
   */
  async *watch<T>(path: string, signal?: AbortSignal): AsyncGenerator<T> {
    const res = await this.open(path, signal, 0);
    const status = res.statusCode ?? 0;
    if (status < 200 || status >= 300) {
      res.resume();
      throw new KubeApiError(status, `WATCH ${new URL(path, this.opts.server).pathname} → ${status}`);
    }
    let buf = '';
    res.setEncoding('utf8');
    for await (const chunk of res) {
      buf += chunk as string;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        if (line) yield JSON.parse(line) as T;
      }
    }
    if (buf.trim()) yield JSON.parse(buf) as T;
  }
}
