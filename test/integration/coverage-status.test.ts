/**
 * Coverage you can see (issue 10, item 6): every binary a traced process runs
 * gets a verdict — TLS library, probe state, why — served on /status, printed
 * by `agentrail status`, counted in agentrail_tls_binaries, and logged once
 * when its TLS library is not recognised. Real binaries under the real sensor:
 * a pinned Bun (BoringSSL found in the stripped binary: attached), a copy of
 * the other pinned Bun with its SSL_write error reasons altered (unrecognized),
 * python3 (no TLS in the executable; OpenSSL comes from libssl, attached).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireKernel, requireTool } from '../helpers/privileges.js';
import { agentBin, agentVersions } from '../helpers/agent-bins.js';
import { runCliAsync } from '../helpers/cli.js';
import { waitFor } from '../helpers/wait-for.js';

/** Polls an async check every 200 ms until it returns a value, failing after `ms`. */
async function waitForAsync<T>(what: string, fn: () => Promise<T | undefined>, ms: number): Promise<T> {
  for (const until = Date.now() + ms; Date.now() < until; await new Promise((r) => setTimeout(r, 200))) {
    const v = await fn();
    if (v !== undefined) return v;
  }
  throw new Error(`timed out waiting for ${what}`);
}
import { cliEntry, repoRoot } from '../../src/paths.js';
import type { SensorStatus } from '../../src/contracts/coverage.js';

/** A copy of `bun` whose `mov edi,16; xor esi,esi; mov edx,226` sites say reason 227 (a plain byte search, independent of the locator). */
function alteredCopy(bun: string, dest: string): string {
  const bytes = readFileSync(bun);
  const needle = Buffer.from([0xbf, 0x10, 0, 0, 0, 0x31, 0xf6, 0xba, 0xe2, 0, 0, 0]);
  let patched = 0;
  for (let i = bytes.indexOf(needle); i >= 0; i = bytes.indexOf(needle, i + 1), patched++) bytes[i + 8] = 0xe3;
  assert.ok(patched > 0, 'the reason-226 sites exist in this Bun build');
  writeFileSync(dest, bytes);
  chmodSync(dest, 0o755);
  return dest;
}

test('agentrail status: per-binary verdicts (attached, unrecognized, no-tls) on /status, in the table, in metrics, and one warning per unrecognised binary', { timeout: 240_000 }, async (t) => {
  if (!requireKernel(t)) return;
  const versions = agentVersions('bun');
  if (!requireTool(t, versions.length >= 2, 'two pinned bun versions (.ci/setup.d/60-agents.sh)')) return;
  const work = mkdtempSync(join(tmpdir(), 'ar-status-'));
  const kids: ChildProcess[] = [];
  t.after(() => {
    writeFileSync(join(work, 'done'), ''); // ends the traced shell's wait loop, which holds the sensor's stderr pipe
    for (const k of kids) if (k.exitCode === null) k.kill('SIGKILL');
    rmSync(work, { recursive: true, force: true });
  });
  // Two builds, two build-ids: the altered copy's negative cache entry cannot shadow the real one.
  const bun = realpathSync(agentBin('bun', versions[0]));
  const altered = alteredCopy(realpathSync(agentBin('bun', versions[1])), join(work, 'bun-altered'));
  const done = join(work, 'done');
  const cfg = join(work, 'c.yaml');
  writeFileSync(cfg, 'observability:\n  httpPort: 0\n');
  const script = `${bun} -e 'console.log(1)' && ${altered} -e 'console.log(2)' && python3 -c 'import ssl' && while [ ! -e ${done} ]; do sleep 0.1; done`;
  const sensor = spawn(process.execPath, [cliEntry, 'run', '--log-dir', join(work, 'log'), '--config', cfg, '--', 'sh', '-c', script], {
    env: { ...process.env, AGENTRAIL_ROOT: repoRoot, AGENTRAIL_LOG_LEVEL: 'info', AGENTRAIL_TLS_CACHE_DIR: join(work, 'cache') },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  kids.push(sensor);
  let err = '';
  sensor.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const port = await waitFor('sensor running', () => {
    if (sensor.exitCode !== null) throw new Error(`sensor exited ${sensor.exitCode}: ${err.slice(-2000)}`);
    const m = /"healthPort":(\d+)/.exec(err);
    return m ? Number(m[1]) : undefined;
  }, 60_000);
  const url = `http://127.0.0.1:${port}`;
  const byPath = (s: SensorStatus, p: string) => s.binaries?.find((b) => b.path === p);
  // Wait until the three executables have verdicts (python3 runs last).
  const status = await waitForAsync('verdicts of the three executables', async () => {
    if (sensor.exitCode !== null) throw new Error(`sensor exited ${sensor.exitCode}: ${err.slice(-2000)}`);
    const s = (await (await fetch(`${url}/status`)).json()) as SensorStatus;
    return byPath(s, bun) && byPath(s, altered) && s.binaries!.some((b) => b.runtime === 'python') ? s : undefined;
  }, 120_000);

  assert.equal(status.collector, 'native');
  const real = byPath(status, bun)!;
  assert.deepEqual([real.library, real.state, real.runtime], ['boringssl-stripped', 'attached', 'bun']);
  assert.ok(real.probes >= 2, 'SSL_write and SSL_read probed');
  assert.match(real.buildId, /^[0-9a-f]{16,}$/);
  const bad = byPath(status, altered)!;
  assert.deepEqual([bad.library, bad.state, bad.probes], ['boringssl-stripped', 'unrecognized', 0]);
  assert.ok(bad.reason.length > 0, 'says why');
  const py = status.binaries!.find((b) => b.runtime === 'python')!;
  assert.deepEqual([py.library, py.state], ['none', 'no-tls']);
  const libssl = status.binaries!.find((b) => /\/libssl\.so/.test(b.path));
  assert.ok(libssl, 'the shared libssl python maps has a verdict');
  assert.deepEqual([libssl.library, libssl.state, libssl.runtime], ['openssl', 'attached', 'shared-library']);
  assert.equal(status.summary['boringssl-stripped/unrecognized'], 1);

  // The command: a table, --json, and --problems exiting 3 with only the altered copy.
  const table = await runCliAsync(['status', '--url', url]);
  assert.equal(table.status, 0, table.stderr);
  assert.match(table.stdout, /^collector: native$/m);
  assert.ok(table.stdout.split('\n').some((l) => l.startsWith('unrecognized') && l.includes(altered)), table.stdout);
  const problems = await runCliAsync(['status', '--url', url, '--problems', '--json']);
  assert.equal(problems.status, 3);
  assert.deepEqual((JSON.parse(problems.stdout) as SensorStatus).binaries!.map((b) => b.path), [altered]);
  await waitForAsync('gauge updated', async () => {
    const m = await (await fetch(`${url}/metrics`)).text();
    return /agentrail_tls_binaries\{library="boringssl-stripped",state="unrecognized"\} 1/.test(m) && /agentrail_tls_binaries\{library="boringssl-stripped",state="attached"\} 1/.test(m) ? true : undefined;
  }, 10_000);

  writeFileSync(done, '');
  assert.equal(await new Promise<number | null>((r) => (sensor.exitCode !== null ? r(sensor.exitCode) : sensor.on('exit', (c) => r(c)))), 0, err.slice(-1500));
  const warnings = err.split('\n').filter((l) => l.includes('TLS library not recognised'));
  assert.equal(warnings.length, 1, 'one warning for the one unrecognised binary');
  assert.equal((JSON.parse(warnings[0]!) as { path: string }).path, altered);
});

test('agentrail status: a clear one-line error when no sensor answers', async () => {
  const r = await runCliAsync(['status', '--url', 'http://127.0.0.1:9']);
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /STATUS_UNREACHABLE/);
  assert.equal(r.stderr.trim().split('\n').length <= 2, true, r.stderr);
});
