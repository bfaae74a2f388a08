import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireKernel } from '../helpers/privileges.js';
import { runCli } from '../helpers/cli.js';

test('agentrail run -- CMD traces the command from its first instruction and exits with its code', { timeout: 120_000 }, (t) => {
  if (!requireKernel(t)) return;
  const dir = mkdtempSync(join(tmpdir(), 'agentrail-launch-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const data = join(dir, 'input.txt');
  writeFileSync(data, 'x'.repeat(12345));
  const cfg = join(dir, 'c.yaml');
  writeFileSync(cfg, 'observability:\n  httpPort: 0\n');
  // The read happens immediately at start: only tracing from the first instruction sees it.
  const r = runCli(['run', '--log-dir', join(dir, 'log'), '--config', cfg, '--', '/bin/sh', '-c', `cat ${data} > /dev/null; exit 7`]);
  assert.equal(r.status, 7, r.stderr);
  const events = readdirSync(join(dir, 'log', 'segments'))
    .flatMap((f) => readFileSync(join(dir, 'log', 'segments', f), 'utf8').trim().split('\n'))
    .map((l) => JSON.parse(l) as { type: string; data: Record<string, any> });
  const read = events.find((e) => e.type === 'dev.agentrail.data.access' && e.data.resource_uri === `file://${data}`);
  assert.ok(read, 'data access of the input file');
  assert.equal(read.data.byte_count, 12345);
  assert.equal(read.data.access_mode, 'read');
  const exit = events.find((e) => e.type === 'dev.agentrail.error' && e.data.error_class === 'process_exit_nonzero' && e.data.exit_code === 7);
  assert.ok(exit, 'non-zero exit recorded as an error event');
  assert.equal(events.at(-2)?.type, 'dev.agentrail.sensor.stop');
});

test('agentrail run rejects a stray positional argument with a usage error', () => {
  const r = runCli(['run', 'python3']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /unexpected argument python3 \(put a command to trace after --\)/);
  assert.doesNotMatch(r.stderr, /at .*\.js:\d+/);
});
