/**
 * `agentrail run --raw` on the live kernel with both collectors, selecting by
 * --comm: a uniquely named copy of /bin/cat is traced from its exec (the
 * native collector matches comm in user space and adds the pid; bpftrace
 * matches it in the kernel), and SIGINT ends the run cleanly.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnCli } from '../helpers/cli.js';
import { cliEntry, repoRoot } from '../../src/paths.js';
import { requireKernel, requireTool } from '../helpers/privileges.js';
import { addonPath } from '../../src/native/addon.js';

const dir = mkdtempSync(join(tmpdir(), 'agentrail-live-'));
after(() => rmSync(dir, { recursive: true, force: true }));

for (const collector of ['native', 'bpftrace'] as const) {
  test(`run --raw --collector ${collector} --comm traces the matching process from its exec`, { timeout: 180_000 }, async (t) => {
    if (!requireKernel(t)) return;
    if (collector === 'bpftrace' && !requireTool(t, spawnSync('bpftrace', ['--version']).status === 0, 'bpftrace')) return;
    if (collector === 'native' && !requireTool(t, existsSync(addonPath), 'the native addon (npm run build:native)')) return;
    const comm = `arcat${process.pid % 10000}${collector[0]}`;
    const exe = join(dir, comm);
    copyFileSync('/bin/cat', exe);
    spawnSync('chmod', ['+x', exe]);
    const input = join(dir, `${collector}.txt`);
    writeFileSync(input, 'x'.repeat(12345));
    const cli = spawnCli(['run', '--raw', '--collector', collector, '--comm', comm], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    cli.stdout!.on('data', (d) => (out += d));
    const ready = new Promise<void>((resolve, reject) => {
      cli.stderr!.on('data', (d) => {
        err += d;
        if (err.includes('source ready')) resolve();
      });
      cli.on('close', () => reject(new Error(`run exited before ready: ${err}`)));
    });
    await ready;
    assert.equal(spawnSync(exe, [input]).status, 0);
    const lines = () => out.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
    const deadline = Date.now() + 30_000;
    while (!lines().some((e) => e.kind === 'proc.exit') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    const code = new Promise<number | null>((r) => cli.on('close', (c) => r(c)));
    cli.kill('SIGINT');
    assert.equal(await code, 0, err);
    const evs = lines();
    const exec = evs.find((e) => e.kind === 'proc.exec');
    assert.ok(exec, 'exec printed');
    assert.equal(exec.comm, comm);
    assert.deepEqual(exec.args, [exe, input]);
    const pid = exec.pid;
    assert.ok(evs.every((e) => e.pid === pid), 'only the selected process');
    const open = evs.find((e) => e.kind === 'file.open' && e.path === input);
    assert.ok(open && (open.ret as number) >= 0, 'open of the input');
    const io = evs.find((e) => e.kind === 'fd.io' && e.fd === open.ret && e.readBytes === '12345');
    assert.ok(io, 'read byte count as a string');
    assert.ok(evs.some((e) => e.kind === 'proc.exit' && e.exitCode === 0));
  });
}

for (const collector of ['native', 'bpftrace'] as const) {
  test(`run --raw --collector ${collector} without capabilities: one actionable line, exit 77, no stack trace`, { timeout: 120_000 }, (t) => {
    if (!requireKernel(t, 'root (to drop capabilities with setpriv)')) return;
    if (!requireTool(t, spawnSync('setpriv', ['--version']).status === 0, 'setpriv (util-linux)')) return;
    if (collector === 'native' && !requireTool(t, existsSync(addonPath), 'the native addon (npm run build:native)')) return;
    // uid stays 0 (the checkout stays readable); every capability is dropped
    const r = spawnSync('setpriv', ['--inh-caps=-all', '--bounding-set=-all', process.execPath, cliEntry, 'run', '--raw', '--all', '--collector', collector, '--duration', '1'], {
      encoding: 'utf8',
      env: { ...process.env, AGENTRAIL_ROOT: repoRoot },
      timeout: 100_000,
    });
    assert.equal(r.status, 77, r.stderr);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0]!, collector === 'native' ? /^agentrail run: PERM_BPF: .*CAP_BPF/ : /^agentrail run: PERM_BPFTRACE: .*CAP_BPF and CAP_PERFMON/);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
    assert.equal(r.stdout, '');
  });
}
