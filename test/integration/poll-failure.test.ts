import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireKernel } from '../helpers/privileges.js';
import { runCli } from '../helpers/cli.js';

test('a ring-buffer poll that keeps failing stops the sensor with one error line and a non-zero exit, never silently', { timeout: 120_000 }, (t) => {
  if (!requireKernel(t)) return;
  const dir = mkdtempSync(join(tmpdir(), 'agentrail-poll-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const cfg = join(dir, 'c.yaml');
  writeFileSync(cfg, 'observability:\n  httpPort: 0\n');
  // The failpoint makes the native poll thread see EBADF from ring_buffer__poll, as a broken ring would.
  const r = runCli(['run', '--log-dir', join(dir, 'log'), '--config', cfg, '--', 'sleep', '30'], { env: { AGENTRAIL_FAILPOINT: 'ring_poll' }, timeoutMs: 60_000 });
  assert.equal(r.status, 74, r.stderr);
  const errors = r.stderr.split('\n').filter((l) => l.includes('"level":50'));
  assert.equal(errors.length, 1, r.stderr);
  assert.match(errors[0]!, /ring buffer poll failed/);
  assert.match(errors[0]!, /"errno":9/);
});
