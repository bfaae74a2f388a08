import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml, parseAllDocuments } from 'yaml';
import { repoRoot } from '../../src/paths.js';
import { requireTool } from '../helpers/privileges.js';
import { parseConfig } from '../../src/config/load.js';
import { configSchema } from '../../src/config/schema.js';

const chart = join(repoRoot, 'helm/agentrail');
const customValues = join(repoRoot, 'test/fixtures/k8s/values-custom.yaml');

/** helm on PATH, else where `go install` puts it. */
function helmBin(): string | undefined {
  const candidates = ['helm', '/usr/local/bin/helm', join(process.env.GOPATH ?? join(process.env.HOME ?? '/root', 'go'), 'bin/helm')];
  for (const c of candidates) {
    if (c !== 'helm' && !existsSync(c)) continue;
    if (spawnSync(c, ['version', '--short'], { encoding: 'utf8' }).status === 0) return c;
  }
  return undefined;
}
const HELM = helmBin();

function helm(t: TestContext, args: string[]): { status: number | null; out: string } | undefined {
  if (!requireTool(t, HELM !== undefined, 'helm (built by .ci/setup.d/40-helm.sh)')) return undefined;
  const r = spawnSync(HELM!, args, { encoding: 'utf8', cwd: repoRoot });
  return { status: r.status, out: r.stdout + r.stderr };
}

type Obj = { kind: string; metadata: { name: string }; [k: string]: any };

function render(t: TestContext, extra: string[] = []): Obj[] | undefined {
  const r = helm(t, ['template', 'agentrail', chart, '-n', 'agentrail', ...extra]);
  if (!r) return undefined;
  assert.equal(r.status, 0, r.out);
  return parseAllDocuments(r.out).map((d) => d.toJS() as Obj).filter((o) => o && o.kind);
}

const one = (objs: Obj[], kind: string) => {
  const o = objs.filter((x) => x.kind === kind);
  assert.equal(o.length, 1, `one ${kind}`);
  return o[0]!;
};

function allContainers(objs: Obj[]): any[] {
  return objs.flatMap((o) => [...(o.spec?.template?.spec?.containers ?? []), ...(o.spec?.template?.spec?.initContainers ?? [])]);
}

test('helm lint with default and non-default values', (t) => {
  const a = helm(t, ['lint', chart]);
  if (!a) return;
  assert.equal(a.status, 0, a.out);
  assert.match(a.out, /1 chart\(s\) linted, 0 chart\(s\) failed/);
  const b = helm(t, ['lint', chart, '-f', customValues])!;
  assert.equal(b.status, 0, b.out);
});

test('default render: least privilege DaemonSet with the right capabilities, mounts, probes', (t) => {
  const objs = render(t);
  if (!objs) return;
  const ds = one(objs, 'DaemonSet');
  const pod = ds.spec.template.spec;
  assert.equal(pod.hostPID, true);
  assert.ok(pod.terminationGracePeriodSeconds >= 30);
  for (const c of allContainers(objs)) assert.notEqual(c.securityContext?.privileged, true, `${c.name} privileged`);
  const c = pod.containers[0];
  assert.deepEqual(c.securityContext.capabilities, { drop: ['ALL'], add: ['BPF', 'PERFMON', 'SYS_RESOURCE', 'SYS_PTRACE'] });
  assert.equal(c.securityContext.allowPrivilegeEscalation, false);
  assert.deepEqual(c.securityContext.seccompProfile, { type: 'Unconfined' });
  const mount = (p: string) => c.volumeMounts.find((m: any) => m.mountPath === p);
  const vol = (n: string) => pod.volumes.find((v: any) => v.name === n);
  assert.equal(mount('/host/proc')?.readOnly, true);
  assert.equal(vol(mount('/host/proc').name).hostPath.path, '/proc');
  assert.equal(vol(mount('/sys/kernel/btf').name).hostPath.path, '/sys/kernel/btf');
  assert.equal(vol(mount('/sys/kernel/tracing').name).hostPath.path, '/sys/kernel/tracing');
  assert.equal(vol(mount('/host/sys/fs/cgroup').name).hostPath.path, '/sys/fs/cgroup');
  const logMount = mount('/var/lib/agentrail/log');
  assert.deepEqual(vol(logMount.name).hostPath, { path: '/var/lib/agentrail', type: 'DirectoryOrCreate' });
  assert.ok(vol(mount('/etc/agentrail/keys').name).secret.secretName);
  assert.equal(c.livenessProbe.httpGet.path, '/healthz');
  assert.equal(c.readinessProbe.httpGet.path, '/readyz');
  assert.equal(c.ports[0].containerPort, 9469);
  assert.ok(c.resources.requests.cpu && c.resources.requests.memory && c.resources.limits.cpu && c.resources.limits.memory);
  assert.equal(c.env.find((e: any) => e.name === 'NODE_NAME').valueFrom.fieldRef.fieldPath, 'spec.nodeName');

  // RBAC: read-only, pods get/list/watch.
  const role = one(objs, 'ClusterRole');
  const pods = role.rules.find((r: any) => r.resources.includes('pods'));
  assert.deepEqual(pods.verbs, ['get', 'list', 'watch']);
  for (const r of role.rules) for (const v of r.verbs) assert.ok(['get', 'list', 'watch'].includes(v), `write verb ${v}`);
  assert.equal(one(objs, 'ClusterRoleBinding').subjects[0].name, one(objs, 'ServiceAccount').metadata.name);
  assert.equal(objs.filter((o) => o.kind === 'ServiceMonitor').length, 0);

  // The rendered config is a valid sensor configuration equal to values.yaml's `config`.
  const cfgText = one(objs, 'ConfigMap').data['config.yaml'];
  const cfg = parseConfig(parseYaml(cfgText));
  assert.equal(cfg.kubernetes.enabled, true);
  assert.equal(cfg.kubernetes.procRoot, '/host/proc');
  assert.deepEqual(cfg.kubernetes.selection.podSelector.matchLabels, { 'agentrail.dev/monitor': 'true' });
  assert.equal(cfg.observability.httpHost, '0.0.0.0');
  const values = parseYaml(readFileSync(join(chart, 'values.yaml'), 'utf8'));
  assert.deepEqual(parseYaml(cfgText), values.config);
});

test('non-default render: custom values flow into the DaemonSet, ConfigMap, Secret and ServiceMonitor', (t) => {
  const objs = render(t, ['-f', customValues]);
  if (!objs) return;
  const ds = one(objs, 'DaemonSet');
  assert.equal(ds.metadata.name, 'audit-sensor');
  const pod = ds.spec.template.spec;
  const c = pod.containers[0];
  assert.equal(c.image, 'registry.example.com/sec/agentrail:0.2.0-rc1');
  assert.deepEqual(c.securityContext.capabilities.add, ['BPF', 'PERFMON', 'SYS_RESOURCE', 'SYS_PTRACE', 'DAC_READ_SEARCH']);
  assert.equal(c.securityContext.privileged, false);
  assert.equal(pod.terminationGracePeriodSeconds, 120);
  assert.equal(pod.serviceAccountName, 'audit-sensor-sa');
  assert.equal(c.ports[0].containerPort, 9500);
  assert.equal(c.env.find((e: any) => e.name === 'AGENTRAIL_LOG_LEVEL').value, 'debug');
  assert.ok(c.volumeMounts.some((m: any) => m.mountPath === '/data/agentrail/log'));
  assert.equal(pod.volumes.find((v: any) => v.name === 'local-log').hostPath.path, '/data/agentrail');
  assert.equal(pod.volumes.find((v: any) => v.name === 'kafka-sasl').secret.secretName, 'kafka-credentials');
  assert.ok(c.volumeMounts.some((m: any) => m.mountPath === '/etc/agentrail/kafka-tls'));
  const secret = one(objs, 'Secret');
  assert.equal(pod.volumes.find((v: any) => v.name === 'signing-key').secret.secretName, secret.metadata.name);
  assert.ok(secret.stringData['signing.key']);
  assert.equal(one(objs, 'Namespace').metadata.name, 'agentrail');
  assert.equal(one(objs, 'ServiceMonitor').spec.endpoints[0].interval, '15s');
  assert.equal(one(objs, 'Service').spec.ports[0].port, 9500);
  const cfg = parseConfig(parseYaml(one(objs, 'ConfigMap').data['config.yaml']));
  assert.deepEqual(cfg.sink.kafka.brokers, ['kafka-0.kafka:9093', 'kafka-1.kafka:9093']);
  assert.equal(cfg.sink.kafka.sasl?.passwordFile, '/etc/agentrail/kafka-sasl/sasl-password');
  assert.equal(cfg.kubernetes.selection.namespaceSelector.matchLabels.team, 'ml');
});

test('privileged only when explicitly requested; leastPrivileged=false drops the capability list', (t) => {
  const p = render(t, ['--set', 'privileged=true']);
  if (!p) return;
  assert.equal(one(p, 'DaemonSet').spec.template.spec.containers[0].securityContext.privileged, true);
  const q = render(t, ['--set', 'leastPrivileged=false'])!;
  const sc = one(q, 'DaemonSet').spec.template.spec.containers[0].securityContext;
  assert.equal(sc.privileged, false);
  assert.equal(sc.capabilities, undefined);
});

test('values.schema.json rejects unknown values; the sensor rejects unknown config keys', (t) => {
  const r = helm(t, ['template', 'x', chart, '--set', 'notAValue=1']);
  if (!r) return;
  assert.notEqual(r.status, 0);
  assert.match(r.out, /additional properties 'notAValue' not allowed/);
  const objs = render(t, ['--set', 'config.kubernetes.notAKey=1'])!;
  assert.throws(() => parseConfig(parseYaml(one(objs, 'ConfigMap').data['config.yaml'])), /kubernetes.*notAKey|notAKey/);
});

test('every value in values.yaml is in values.schema.json, documented, and config maps onto the config schema', () => {
  const values = parseYaml(readFileSync(join(chart, 'values.yaml'), 'utf8')) as Record<string, unknown>;
  const schema = JSON.parse(readFileSync(join(chart, 'values.schema.json'), 'utf8'));
  assert.equal(schema.additionalProperties, false);
  const missing: string[] = [];
  const walk = (v: unknown, s: any, path: string) => {
    if (!s) return void missing.push(path);
    if (v && typeof v === 'object' && !Array.isArray(v) && s.properties) {
      for (const [k, child] of Object.entries(v)) walk(child, s.properties[k] ?? (s.additionalProperties === false ? undefined : {}), `${path}.${k}`);
    }
  };
  walk(values, schema, '');
  assert.deepEqual(missing, []);
  for (const k of Object.keys(schema.properties)) assert.ok(k in values, `schema key ${k} has a default in values.yaml`);
  // One-to-one: the config sections of the chart are exactly those of src/config/schema.ts.
  assert.deepEqual(
    Object.keys(schema.properties.config.properties).sort(),
    Object.keys(configSchema.shape).sort(),
    'a config section was added or removed in src/config/schema.ts: add it to helm/agentrail/values.schema.json (config.properties) and values.yaml (config), then run scripts/render-manifests.sh',
  );
  parseConfig(values.config);

  // Documentation: every top-level value and every leaf outside data maps has a comment above it.
  const lines = readFileSync(join(chart, 'values.yaml'), 'utf8').split('\n');
  const undocumented: string[] = [];
  const dataParents = /^(resources|nodeSelector|updateStrategy|rollingUpdate|requests|limits|matchLabels|keys|local)$/;
  const stack: Array<{ indent: number; key: string }> = [];
  lines.forEach((line, i) => {
    const m = /^(\s*)([\w.-]+):(.*)$/.exec(line);
    if (!m) return;
    const indent = m[1]!.length;
    while (stack.length && stack.at(-1)!.indent >= indent) stack.pop();
    const parent = stack.at(-1)?.key ?? '';
    const isLeaf = m[3]!.trim() !== '';
    stack.push({ indent, key: m[2]! });
    if (dataParents.test(parent) || (!isLeaf && indent > 0)) return;
    let j = i - 1;
    while (j >= 0 && lines[j]!.trim() === '') j--;
    const prev = lines[j]?.trim() ?? '';
    const isCommented = prev.startsWith('#');
    // A mapping's first child may rely on the mapping's own comment only if it is itself commented.
    if (!isCommented && (isLeaf || indent === 0)) undocumented.push(`${parent ? parent + '.' : ''}${m[2]}`);
  });
  assert.deepEqual(undocumented, []);
});

test('deploy/kubernetes/agentrail.yaml (plain manifests) is the chart rendered with the documented command', (t) => {
  const r = helm(t, ['template', 'agentrail', chart, '-n', 'agentrail', '--set', 'namespace.create=true', '--set', 'signingKey.value=REPLACE-WITH-agentrail-keygen-OUTPUT']);
  if (!r) return;
  assert.equal(r.status, 0, r.out);
  const committed = readFileSync(join(repoRoot, 'deploy/kubernetes/agentrail.yaml'), 'utf8');
  const body = committed.slice(committed.indexOf('---'));
  assert.equal(body, r.out.slice(r.out.indexOf('---')), 'regenerate with scripts/render-manifests.sh');
  const kinds = parseAllDocuments(committed).map((d) => (d.toJS() as Obj | null)?.kind).filter(Boolean);
  for (const k of ['Namespace', 'ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'ConfigMap', 'Secret', 'DaemonSet']) assert.ok(kinds.includes(k), k);
});
