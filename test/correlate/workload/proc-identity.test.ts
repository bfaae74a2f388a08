import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SignJWT, generateKeyPair } from 'jose';
import { repoRoot } from '../../../src/paths.js';
import { readCloudIdentity, readProjectedTokenClaims, PROJECTED_TOKEN_PATH } from '../../../src/correlate/workload/proc-identity.js';
import { KubernetesWorkloadResolver } from '../../../src/correlate/workload/kubernetes-resolver.js';

const POD_UID = '5a1f8e2c-3b4d-4e6f-9a0b-1c2d3e4f5a6b';
const SECRET_ENV = 'AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYzzSECRETzz';

/** A projected service-account token shaped like the kubelet's (ES256, kubernetes.io claims). */
async function projectedToken(): Promise<string> {
  const { privateKey } = await generateKeyPair('ES256');
  return new SignJWT({
    'kubernetes.io': {
      namespace: 'agents',
      node: { name: 'node-a', uid: '11111111-2222-4333-8444-555555555555' },
      pod: { name: 'research-agent-7c9f8d6b5-x2x9q', uid: POD_UID },
      serviceaccount: { name: 'research-agent', uid: '22222222-3333-4444-8555-666666666666' },
      warnafter: 1795368000,
    },
  })
    .setProtectedHeader({ alg: 'ES256', kid: 'test-kid' })
    .setIssuer('https://kubernetes.default.svc.cluster.local')
    .setAudience(['https://kubernetes.default.svc.cluster.local'])
    .setSubject('system:serviceaccount:agents:research-agent')
    .setIssuedAt()
    .setExpirationTime('1h')
    .sign(privateKey);
}

function put(path: string, content: string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, content);
}

/** Fake /proc with one containerised process (pid 4242) carrying token, IRSA, Azure and GCP identity. */
async function fakeProc(): Promise<{ proc: string; token: string; secrets: string[] }> {
  const proc = mkdtempSync(join(tmpdir(), 'agentrail-proc-'));
  const token = await projectedToken();
  const webIdToken = await projectedToken();
  const p = join(proc, '4242');
  put(join(p, 'cgroup'), readFileSync(join(repoRoot, 'test/fixtures/k8s/proc-cgroup-v2.txt'), 'utf8'));
  put(join(p, 'root', PROJECTED_TOKEN_PATH), token + '\n');
  put(join(p, 'root/var/run/secrets/eks.amazonaws.com/serviceaccount/token'), webIdToken);
  put(join(p, 'root/var/run/secrets/azure/tokens/azure-identity-token'), webIdToken);
  put(join(p, 'root/etc/gcp/creds.json'), JSON.stringify({
    type: 'external_account',
    audience: '//iam.googleapis.com/projects/123/locations/global/workloadIdentityPools/pool/providers/k8s',
    subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
    token_url: 'https://sts.googleapis.com/v1/token',
    service_account_impersonation_url: 'https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/agent@proj.iam.gserviceaccount.com:generateAccessToken',
    credential_source: { file: '/var/run/service-account/token' },
  }));
  const env = [
    'PATH=/usr/bin',
    'AWS_ROLE_ARN=arn:aws:iam::123456789012:role/research-agent',
    'AWS_WEB_IDENTITY_TOKEN_FILE=/var/run/secrets/eks.amazonaws.com/serviceaccount/token',
    'AZURE_CLIENT_ID=00000000-aaaa-4bbb-8ccc-000000000001',
    'AZURE_TENANT_ID=00000000-dddd-4eee-8fff-000000000002',
    'AZURE_FEDERATED_TOKEN_FILE=/var/run/secrets/azure/tokens/azure-identity-token',
    'GOOGLE_APPLICATION_CREDENTIALS=/etc/gcp/creds.json',
    SECRET_ENV,
    'OPENAI_API_KEY=sk-proj-THISISASECRETVALUE0123456789',
  ];
  put(join(p, 'environ'), env.join('\0') + '\0');
  // A second process using EKS Pod Identity instead.
  const q = join(proc, '4343');
  put(join(q, 'cgroup'), readFileSync(join(repoRoot, 'test/fixtures/k8s/proc-cgroup-v1.txt'), 'utf8'));
  put(join(q, 'root/var/run/secrets/pods.eks.amazonaws.com/serviceaccount/eks-pod-identity-token'), webIdToken);
  put(join(q, 'environ'), [
    'AWS_CONTAINER_CREDENTIALS_FULL_URI=http://169.254.170.23/v1/credentials',
    'AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE=/var/run/secrets/pods.eks.amazonaws.com/serviceaccount/eks-pod-identity-token',
  ].join('\0'));
  return { proc, token, secrets: [token, webIdToken, 'wJalrXUtnFEMI', 'sk-proj-THISISASECRET', token.split('.')[2]!] };
}

test('projected token claims through /proc/<pid>/root; no API needed', async (t) => {
  const { proc } = await fakeProc();
  t.after(() => rmSync(proc, { recursive: true, force: true }));
  const c = readProjectedTokenClaims(proc, 4242)!;
  assert.equal(c.namespace, 'agents');
  assert.equal(c.podName, 'research-agent-7c9f8d6b5-x2x9q');
  assert.equal(c.podUid, POD_UID);
  assert.equal(c.serviceAccount, 'research-agent');
  assert.equal(c.node, 'node-a');
  assert.equal(readProjectedTokenClaims(proc, 999), undefined);
});

test('cloud federated identity: IRSA, Azure, GCP external_account, EKS Pod Identity', async (t) => {
  const { proc } = await fakeProc();
  t.after(() => rmSync(proc, { recursive: true, force: true }));
  const ids = readCloudIdentity(proc, 4242);
  assert.deepEqual(ids.map((i) => [i.provider, i.principal]), [
    ['aws-irsa', 'aws:arn:aws:iam::123456789012:role/research-agent'],
    ['gcp-workload-identity', 'gcp:agent@proj.iam.gserviceaccount.com'],
    ['azure-workload-identity', 'azure:00000000-dddd-4eee-8fff-000000000002/00000000-aaaa-4bbb-8ccc-000000000001'],
  ]);
  const eks = readCloudIdentity(proc, 4343);
  assert.deepEqual(eks.map((i) => i.principal), ['aws:eks-pod-identity:agents/research-agent']);
});

test('resolver without API: identity from token + environment, and no secret in any output', async (t) => {
  const { proc, secrets } = await fakeProc();
  t.after(() => rmSync(proc, { recursive: true, force: true }));
  const r = new KubernetesWorkloadResolver({ procRoot: proc, nodeName: 'node-a' });
  const id = r.resolve(4242, 0n)!;
  assert.equal(id.workload_id, 'k8s:agents/Pod/research-agent-7c9f8d6b5-x2x9q');
  assert.equal(id.service_account, 'agents/research-agent');
  assert.equal(id.pod_uid, POD_UID);
  assert.match(id.container_id!, /^3f1c5e0b/);
  assert.equal(id.federated_identity, 'aws:arn:aws:iam::123456789012:role/research-agent,gcp:agent@proj.iam.gserviceaccount.com,azure:00000000-dddd-4eee-8fff-000000000002/00000000-aaaa-4bbb-8ccc-000000000001');
  const out = JSON.stringify(id);
  for (const s of secrets) assert.ok(!out.includes(s), 'identity carries no secret');

  // Same resolution in a child process at trace log level: nothing secret on stdout or stderr.
  const here = dirname(fileURLToPath(import.meta.url));
  const mod = join(here, '../../../src/correlate/workload/kubernetes-resolver.js');
  const script = `import { KubernetesWorkloadResolver } from ${JSON.stringify(mod)};
    const r = new KubernetesWorkloadResolver({ procRoot: ${JSON.stringify(proc)} });
    console.log(JSON.stringify([r.resolve(4242, 0n), r.resolve(4343, 0n), r.resolve(1, 0n)]));`;
  const c = spawnSync(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, AGENTRAIL_LOG_LEVEL: 'trace' } });
  assert.equal(c.status, 0, c.stderr.toString());
  const all = c.stdout.toString() + c.stderr.toString();
  assert.match(all, /research-agent/);
  for (const s of secrets) assert.ok(!all.includes(s), 'no secret in process output');
});

test('a process outside any pod is left to the next resolver; a garbage token says nothing', async (t) => {
  const { proc } = await fakeProc();
  t.after(() => rmSync(proc, { recursive: true, force: true }));
  put(join(proc, '5', 'cgroup'), '0::/user.slice/user-0.slice/session-1.scope\n');
  const r = new KubernetesWorkloadResolver({ procRoot: proc });
  assert.equal(r.resolve(5, 0n), undefined);
  put(join(proc, '6', 'cgroup'), readFileSync(join(repoRoot, 'test/fixtures/k8s/proc-cgroup-v2.txt'), 'utf8'));
  put(join(proc, '6', 'root', PROJECTED_TOKEN_PATH), 'not-a-jwt-SECRETVALUE');
  assert.equal(readProjectedTokenClaims(proc, 6), undefined);
  assert.equal(r.resolve(6, 0n), undefined);
});
