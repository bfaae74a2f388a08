import { readFileSync } from 'node:fs';
import { decodeJwt } from 'jose';

/**
 * Identity read from a process's own view of the filesystem and environment,
 * for nodes where the sensor has no API access. Only claims and identifiers
 * leave this module: a token's value is read into a local, decoded, and
 * dropped; it is never returned, stored, or put in an error message.
 */

export const PROJECTED_TOKEN_PATH = '/var/run/secrets/kubernetes.io/serviceaccount/token';

export interface TokenClaims {
  namespace?: string;
  podName?: string;
  podUid?: string;
  serviceAccount?: string;
  node?: string;
  issuer?: string;
  /** Expiry (seconds since epoch), so callers know when to re-read. */
  exp?: number;
}

/** Decode claims of the pod's projected service-account token via /proc/<pid>/root. */
export function readProjectedTokenClaims(procRoot: string, pid: number, tokenPath = PROJECTED_TOKEN_PATH): TokenClaims | undefined {
  let raw: string;
  try {
    raw = readFileSync(`${procRoot}/${pid}/root${tokenPath}`, 'utf8').trim();
  } catch {
    return undefined;
  }
  let c: Record<string, unknown>;
  try {
    c = decodeJwt(raw) as Record<string, unknown>;
  } catch {
    return undefined; // not a JWT: say nothing about it, least of all its content
  } finally {
    raw = '';
  }
  return claimsOf(c);
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v.length > 0 ? v : undefined;
}

function claimsOf(c: Record<string, unknown>): TokenClaims {
  const k = (c['kubernetes.io'] ?? {}) as Record<string, Record<string, unknown> | string | undefined>;
  const pod = (typeof k.pod === 'object' ? k.pod : {}) as Record<string, unknown>;
  const sa = (typeof k.serviceaccount === 'object' ? k.serviceaccount : {}) as Record<string, unknown>;
  const node = (typeof k.node === 'object' ? k.node : {}) as Record<string, unknown>;
  const out: TokenClaims = {
    namespace: str(k.namespace),
    podName: str(pod.name),
    podUid: str(pod.uid),
    serviceAccount: str(sa.name),
    node: str(node.name),
    issuer: str(c.iss),
    exp: typeof c.exp === 'number' ? c.exp : undefined,
  };
  // Legacy (non-projected) tokens carry only sub = system:serviceaccount:<ns>:<name>.
  const sub = str(c.sub);
  if (sub?.startsWith('system:serviceaccount:')) {
    const [, , ns, name] = sub.split(':');
    out.namespace ??= ns;
    out.serviceAccount ??= name;
  }
  for (const key of Object.keys(out) as Array<keyof TokenClaims>) if (out[key] === undefined) delete out[key];
  return out;
}

/** Environment of a process (NUL-separated /proc/<pid>/environ), restricted to `keys`. */
export function readEnviron(procRoot: string, pid: number, keys: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  let text: string;
  try {
    text = readFileSync(`${procRoot}/${pid}/environ`, 'latin1');
  } catch {
    return out;
  }
  const want = new Set(keys);
  // Only the named keys are kept; the rest of the environment may hold secrets.
  for (const kv of text.split('\0')) {
    const eq = kv.indexOf('=');
    if (eq <= 0) continue;
    const k = kv.slice(0, eq);
    if (want.has(k)) out.set(k, kv.slice(eq + 1));
  }
  return out;
}

export type FederatedProvider = 'aws-irsa' | 'aws-eks-pod-identity' | 'gcp-workload-identity' | 'gcp-service-account-key' | 'azure-workload-identity';

export interface FederatedIdentity {
  provider: FederatedProvider;
  /** The seed's federated_identity string, e.g. `aws:arn:aws:iam::1:role/x`, `gcp:sa@p.iam.gserviceaccount.com`, `azure:<tenant>/<client>`. */
  principal: string;
  /** Path of the credential file inside the container (never its content). */
  tokenFile?: string;
  audience?: string;
}

export const CLOUD_ENV_KEYS = [
  'AWS_ROLE_ARN',
  'AWS_WEB_IDENTITY_TOKEN_FILE',
  'AWS_CONTAINER_CREDENTIALS_FULL_URI',
  'AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE',
  'GOOGLE_APPLICATION_CREDENTIALS',
  'AZURE_CLIENT_ID',
  'AZURE_TENANT_ID',
  'AZURE_FEDERATED_TOKEN_FILE',
] as const;

/** EKS Pod Identity agent's link-local endpoint. */
const EKS_POD_IDENTITY_HOSTS = ['169.254.170.23', '[fd00:ec2::23]'];

/** Cloud federated identities a process can assume, from its environment and (GCP) credential file. */
export function readCloudIdentity(procRoot: string, pid: number): FederatedIdentity[] {
  const env = readEnviron(procRoot, pid, CLOUD_ENV_KEYS);
  const out: FederatedIdentity[] = [];
  const roleArn = env.get('AWS_ROLE_ARN');
  const webIdFile = env.get('AWS_WEB_IDENTITY_TOKEN_FILE');
  if (roleArn && webIdFile && roleArn.startsWith('arn:')) {
    out.push({ provider: 'aws-irsa', principal: `aws:${roleArn}`, tokenFile: webIdFile });
  }
  const fullUri = env.get('AWS_CONTAINER_CREDENTIALS_FULL_URI');
  const authFile = env.get('AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE');
  if (fullUri && authFile) {
    let host = '';
    try {
      host = new URL(fullUri).host;
    } catch {
      /* malformed: not Pod Identity */
    }
    if (EKS_POD_IDENTITY_HOSTS.some((h) => host.startsWith(h))) {
      // The role is bound server-side to the service account; the pod only sees the agent endpoint.
      const claims = readTokenFileClaims(procRoot, pid, authFile);
      const who = claims?.namespace && claims.serviceAccount ? `${claims.namespace}/${claims.serviceAccount}` : 'pod';
      out.push({ provider: 'aws-eks-pod-identity', principal: `aws:eks-pod-identity:${who}`, tokenFile: authFile });
    }
  }
  const gac = env.get('GOOGLE_APPLICATION_CREDENTIALS');
  if (gac) {
    const g = readGcpCredentials(procRoot, pid, gac);
    if (g) out.push(g);
  }
  const azClient = env.get('AZURE_CLIENT_ID');
  const azTenant = env.get('AZURE_TENANT_ID');
  const azFile = env.get('AZURE_FEDERATED_TOKEN_FILE');
  if (azClient && azTenant && azFile) {
    out.push({ provider: 'azure-workload-identity', principal: `azure:${azTenant}/${azClient}`, tokenFile: azFile });
  }
  return out;
}

function readTokenFileClaims(procRoot: string, pid: number, path: string): TokenClaims | undefined {
  if (!path.startsWith('/')) return undefined;
  return readProjectedTokenClaims(procRoot, pid, path);
}

/** GCP credential config: external_account (workload identity federation) or a service-account key (only client_email is kept). */
function readGcpCredentials(procRoot: string, pid: number, path: string): FederatedIdentity | undefined {
  if (!path.startsWith('/')) return undefined;
  let j: Record<string, unknown>;
  try {
    j = JSON.parse(readFileSync(`${procRoot}/${pid}/root${path}`, 'utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  if (j.type === 'external_account') {
    const imp = str(j.service_account_impersonation_url);
    const email = imp ? /serviceAccounts\/([^/:]+):generateAccessToken/.exec(imp)?.[1] : undefined;
    const audience = str(j.audience);
    const principal = email ? `gcp:${decodeURIComponent(email)}` : `gcp:${audience ?? 'external_account'}`;
    const cs = (j.credential_source ?? {}) as Record<string, unknown>;
    return { provider: 'gcp-workload-identity', principal, audience, tokenFile: str(cs.file) };
  }
  if (j.type === 'service_account') {
    const email = str(j.client_email);
    if (email) return { provider: 'gcp-service-account-key', principal: `gcp:${email}` };
  }
  return undefined;
}
