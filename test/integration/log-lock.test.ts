import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireKernel } from '../helpers/privileges.js';
import { runCli, runCliAsync, spawnCli } from '../helpers/cli.js';

async function until(f: () => boolean, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!f()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('one writer per log directory: a second sensor gets one clear line; a SIGKILLed owner does not lock the directory forever', { timeout: 180_000 }, async (t) => {
  if (!requireKernel(t)) return;
  const dir = mkdtempSync(join(tmpdir(), 'agentrail-lock-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const cfg = join(dir, 'c.yaml');
  writeFileSync(cfg, 'observability:\n  httpPort: 0\n');
  const log = join(dir, 'log');
  const first = spawnCli(['run', '--log-dir', log, '--config', cfg, '--', 'sleep', '60'], { stdio: 'ignore' });
  t.after(() => first.kill('SIGKILL'));
  await until(() => existsSync(join(log, 'agentrail.lock')));

  const second = await runCliAsync(['run', '--log-dir', log, '--config', cfg, '--', 'true']);
  assert.notEqual(second.status, 0);
  const lines = second.stderr.trim().split('\n');
  assert.equal(lines.length, 1, second.stderr);
  assert.match(lines[0]!, /LOG_LOCKED: local log directory .* is in use by another agentrail \(pid \d+\)/);

  first.kill('SIGKILL');
  await new Promise((r) => first.once('exit', r));
  assert.ok(existsSync(join(log, 'agentrail.lock')), 'the killed sensor left its lock behind');
  const third = runCli(['run', '--log-dir', log, '--config', cfg, '--', 'true']);
  assert.equal(third.status, 0, third.stderr);
  assert.ok(!existsSync(join(log, 'agentrail.lock')), 'released on a clean stop');
});
