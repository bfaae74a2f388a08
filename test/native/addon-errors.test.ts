import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireKernel, requireTool } from '../helpers/privileges.js';
import { AgentrailError } from '../../src/errors.js';
import { addonPath, createSensor } from '../../src/native/addon.js';

test('addon errors: no BPF objects → AgentrailError NOT_BUILT with errno, step and a hint', (t) => {
  if (!requireKernel(t, 'root (the privilege check runs first)')) return;
  if (!requireTool(t, existsSync(addonPath), 'the native addon (npm run build:native)')) return;
  const dir = mkdtempSync(join(tmpdir(), 'agentrail-noobj-'));
  try {
    const s = createSensor({ objectDir: dir });
    assert.throws(
      () => s.start(() => {}),
      (e: unknown) => {
        assert.ok(e instanceof AgentrailError);
        assert.equal(e.code, 'NOT_BUILT');
        assert.equal(e.hint, 'build them: npm run build:bpf');
        assert.equal((e as AgentrailError & { step: string }).step, 'open objects');
        assert.equal(typeof (e as AgentrailError & { errno: number }).errno, 'number');
        return true;
      },
    );
    // a failed start leaves nothing running: counters still answer, stop is a no-op
    assert.equal(s.counters().records, 0);
    s.stop();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('addon errors: an unknown object name names the missing file', (t) => {
  if (!requireKernel(t, 'root (the privilege check runs first)')) return;
  if (!requireTool(t, existsSync(addonPath), 'the native addon (npm run build:native)')) return;
  const s = createSensor({ objects: ['no-such-family'] });
  assert.throws(() => s.start(() => {}), (e: unknown) => e instanceof AgentrailError && e.code === 'NOT_BUILT' && /no-such-family\.bpf\.o/.test(e.message));
});

test('addon errors: bad options are TypeErrors, not crashes', (t) => {
  if (!requireTool(t, existsSync(addonPath), 'the native addon (npm run build:native)')) return;
  assert.throws(() => createSensor({ objectDir: 1 as unknown as string }), /objectDir/);
});
