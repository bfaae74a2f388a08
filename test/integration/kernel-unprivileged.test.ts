import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { requireKernel, requireTool } from '../helpers/privileges.js';
import { distRoot } from '../../src/paths.js';
import { addonPath } from '../../src/native/addon.js';

/**
 * Without privileges the native source fails with one actionable line and a
 * non-zero exit, no stack trace. The loader below is what a command does:
 * start the source, print AgentrailError.oneLine() on failure.
 */
test('unprivileged start: one-line actionable error, non-zero exit, no stack trace', (t) => {
  if (!requireKernel(t, 'root (to drop privileges with setpriv)')) return;
  const setpriv = spawnSync('setpriv', ['--version']).status === 0;
  if (!requireTool(t, setpriv, 'setpriv (util-linux)')) return;
  if (!requireTool(t, existsSync(addonPath), 'the native addon (npm run build:native)')) return;
  // The unprivileged user may not read the checkout (e.g. under /root): copy
  // the few compiled modules and the addon into a world-readable install root.
  const dir = mkdtempSync(join(tmpdir(), 'agentrail-unpriv-'));
  try {
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'agentrail', type: 'module' }));
    for (const f of ['paths.js', 'errors.js', 'native/addon.js', 'source/native-source.js']) {
      mkdirSync(dirname(join(dir, 'dist', 'src', f)), { recursive: true });
      copyFileSync(join(distRoot, 'src', f), join(dir, 'dist', 'src', f));
    }
    mkdirSync(join(dir, 'native', 'build', 'Release'), { recursive: true });
    copyFileSync(addonPath, join(dir, 'native', 'build', 'Release', 'agentrail.node'));
    spawnSync('chmod', ['-R', 'a+rX', dir]);
    const loader = join(dir, 'loader.mjs');
    const src = pathToFileURL(join(dir, 'dist', 'src', 'source', 'native-source.js')).href;
    const errs = pathToFileURL(join(dir, 'dist', 'src', 'errors.js')).href;
    writeFileSync(
      loader,
      `import { NativeSource } from '${src}';
import { isAgentrailError } from '${errs}';
try {
  const s = new NativeSource({ selection: { all: true, pids: [], cgroupIds: [], comms: [] } });
  s.start();
  await s.stop();
  console.log('started');
} catch (e) {
  if (!isAgentrailError(e)) throw e;
  process.stderr.write(e.oneLine() + '\\n');
  process.exitCode = 2;
}
`,
    );
    chmodSync(loader, 0o644);
    const r = spawnSync(
      'setpriv',
      ['--reuid=65534', '--regid=65534', '--clear-groups', '--inh-caps=-all', '--bounding-set=-all', process.execPath, loader],
      { encoding: 'utf8', cwd: dir, env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } },
    );
    assert.notEqual(r.status, 0, `non-zero exit (stdout: ${r.stdout})`);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, `one line: ${r.stderr}`);
    assert.match(lines[0]!, /^PERM_BPF: /);
    assert.match(lines[0]!, /CAP_BPF/);
    assert.match(lines[0]!, /run as root or grant CAP_BPF,CAP_PERFMON/);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
