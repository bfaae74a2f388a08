import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { emptySelection } from '../../src/source/source.js';
import { KernelHarness } from '../native/kernel-harness.js';
import { requireKernel } from '../helpers/privileges.js';

test('--comm in the kernel: an exec of the name starts tracing it and its children; other processes never reach user space', async (t) => {
  if (!requireKernel(t, 'root, BTF and tracefs to load the eBPF programs')) return;
  const dir = mkdtempSync(join(tmpdir(), 'agentrail-comm-'));
  // The kernel's comm is the basename of the executed path: a symlink gives /bin/sh a unique name.
  const named = join(dir, 'agentrail-cmx');
  symlinkSync('/bin/sh', named);
  const h = KernelHarness.start({ objects: ['process', 'file'], selection: { ...emptySelection(), comms: ['agentrail-cmx'] } });
  t.after(async () => {
    await h.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  await new Promise((r) => setTimeout(r, 300));
  const other = spawnSync('/bin/sh', ['-c', 'echo $$; cat /etc/hostname > /dev/null']);
  const otherPid = Number(other.stdout.toString().split('\n')[0]);
  const traced = spawnSync(named, ['-c', 'echo $$; cat /etc/hostname > /dev/null']);
  const tracedPid = Number(traced.stdout.toString().split('\n')[0]);
  const exec = await h.waitFor((e) => e.kind === 'proc.exec' && e.pid === tracedPid, 'exec record of the named process');
  assert.equal(exec.kind === 'proc.exec' && exec.comm, 'agentrail-cmx');
  // Its child (cat) inherits tracing: fork, exec and the open of /etc/hostname are there.
  await h.waitFor((e) => e.kind === 'proc.exec' && e.filename.endsWith('/cat') && e.ppid === tracedPid, 'exec of the child cat');
  await h.waitFor((e) => e.kind === 'file.open' && e.path === '/etc/hostname', 'open by the child');
  await h.barrier();
  assert.equal(h.events.filter((e) => e.pid === otherPid).length, 0, 'nothing from a process with another name');
  assert.ok(!h.events.some((e) => e.kind === 'proc.exec' && e.comm === 'sh' && e.pid !== tracedPid), 'no exec of an unselected sh');
});
