import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireKernel } from '../helpers/privileges.js';
import { runCli } from '../helpers/cli.js';

const TOKEN = 'ghp_' + 'abcdefghijklmnopqrstuvwxyz0123456789';
const FAKE = '{"type":"dev.agentrail.tool.invocation","data":{"forged":true}}';

function setup(t: { after(fn: () => void): void }) {
  const dir = mkdtempSync(join(tmpdir(), 'agentrail-cli-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const cfg = join(dir, 'c.yaml');
  writeFileSync(cfg, 'observability:\n  httpPort: 0\n');
  return { dir, cfg };
}

test('run --raw -- CMD launches and traces CMD like run -- CMD, exits with its code, keeps its stdout out of the stream and hashes secrets in argv', { timeout: 120_000 }, (t) => {
  if (!requireKernel(t)) return;
  const { cfg } = setup(t);
  const r = runCli(['run', '--raw', '--config', cfg, '--', '/bin/sh', '-c', `echo '${FAKE}'; /bin/echo "Authorization: Bearer ${TOKEN}" >/dev/null; exit 3`]);
  assert.equal(r.status, 3, r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.ok(lines.length > 3, 'raw events were printed');
  for (const l of lines) assert.equal(typeof (JSON.parse(l) as { op: unknown }).op, 'number', `every stdout line is a raw record: ${l.slice(0, 80)}`);
  assert.ok(!r.stdout.includes('forged'), "the command's own stdout never reaches the event stream");
  assert.ok(r.stderr.includes('forged'), 'it goes to stderr instead');
  assert.ok(!r.stdout.includes(TOKEN), 'a token on a command line is not printed without --raw-payload');
  assert.match(r.stdout, /Bearer ~h:[0-9a-f]{16}/);
  assert.ok(lines.some((l) => l.includes('"kind":"proc.exec"') && l.includes('/bin/echo')), 'the child exec was traced');
});

test('run --out FILE in event mode writes every sealed event to FILE; --stdout never mixes the command output in', { timeout: 120_000 }, (t) => {
  if (!requireKernel(t)) return;
  const { dir, cfg } = setup(t);
  const out = join(dir, 'events.jsonl');
  const r = runCli(['run', '--log-dir', join(dir, 'log'), '--config', cfg, '--out', out, '--', '/bin/sh', '-c', 'cat /etc/hostname > /dev/null']);
  assert.equal(r.status, 0, r.stderr);
  const events = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string; sequence: string; data: Record<string, unknown> });
  assert.ok(events.length >= 3);
  assert.ok(events.every((e) => e.type.startsWith('dev.agentrail.') && /^\d+$/.test(e.sequence)), 'sealed events with their sequence');
  assert.ok(events.some((e) => e.data.resource_uri === 'file:///etc/hostname'));

  const s = runCli(['run', '--log-dir', join(dir, 'log2'), '--config', cfg, '--stdout', '--', '/bin/sh', '-c', `echo '${FAKE}'`]);
  assert.equal(s.status, 0, s.stderr);
  for (const l of s.stdout.trim().split('\n')) assert.ok(!l.includes('forged') && /"sequence":"\d+"/.test(l), `only sealed events on stdout: ${l.slice(0, 80)}`);
});

test('run --out naming a device is rejected with one line, never written through', () => {
  const r = runCli(['run', '--out', '/dev/null', '--', 'true']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /^agentrail run: USAGE_OUT: --out \/dev\/null: not a regular file/m);
  assert.doesNotMatch(r.stderr, /at .*\.js:\d+/);
});
