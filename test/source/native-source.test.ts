import { after, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { requireKernel, requireTool } from '../helpers/privileges.js';
import { FlushReason } from '../../src/native/abi.js';
import { cgroup2Root, cgroupIdOf, KernelHarness } from '../native/kernel-harness.js';

// process + file objects only, periodic flush every 200 ms.
let h: KernelHarness | undefined;
function harness(): KernelHarness {
  h ??= KernelHarness.start({ objects: ['process', 'file'], flushIntervalMs: 200 });
  return h;
}
after(async () => {
  if (h) await h.stop();
});
const dir = mkdtempSync(join(tmpdir(), 'agentrail-src-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function kernel(t: TestContext): boolean {
  return requireKernel(t, 'root, BTF and tracefs to load the eBPF programs');
}

test('native source: periodic flush emits fd counters of a long-lived fd before its close', async (t) => {
  if (!kernel(t)) return;
  const k = harness();
  const path = join(dir, 'slow.bin');
  writeFileSync(path, Buffer.alloc(4096, 7));
  // reads 1 KiB, sleeps past two flush intervals, reads the rest, closes
  const script = `const fs=require('fs');const fd=fs.openSync(${JSON.stringify(path)});const b=Buffer.alloc(4096);
fs.readSync(fd,b,0,1024,null);setTimeout(()=>{while(fs.readSync(fd,b,0,4096,null)>0);fs.closeSync(fd)},700)`;
  const r = await k.run(process.execPath, ['-e', script]);
  assert.equal(r.code, 0);
  const ino = statSync(path, { bigint: true }).ino;
  const io = k.events.filter((e) => e.kind === 'fd.io' && e.ino === ino);
  const periodic = io.filter((e) => e.kind === 'fd.io' && e.reason === FlushReason.PERIODIC);
  assert.ok(periodic.length >= 1, `a periodic flush (${io.map((e) => e.kind === 'fd.io' && e.reason)})`);
  const total = io.reduce((a, e) => a + (e.kind === 'fd.io' ? e.readBytes : 0n), 0n);
  assert.equal(total, 4096n, 'the deltas add up to the bytes read');
  assert.ok(k.source.counters().periodicFlushes! >= 1);
});

test('native source: a traced cgroup selects its processes without their pid', async (t) => {
  if (!kernel(t)) return;
  const k = harness();
  const root = cgroup2Root();
  if (!requireTool(t, root !== undefined, 'a cgroup v2 hierarchy (mounted cgroup2)')) return;
  // A fresh cgroup where the hierarchy is writable; otherwise (read-only
  // cgroupfs in a container) the test process's own cgroup, which its
  // children share.
  let cg: string | undefined = `${root}/agentrail-test-${process.pid}`;
  let made = false;
  try {
    mkdirSync(cg);
    made = true;
    const probe = spawn('sleep', ['5'], { stdio: 'ignore' });
    try {
      writeFileSync(join(cg, 'cgroup.procs'), String(probe.pid));
    } finally {
      probe.kill();
      await new Promise((r) => probe.on('close', r));
    }
  } catch {
    try {
      if (made) rmdirSync(cg);
    } catch {
      /* left behind: an empty cgroup */
    }
    cg = undefined;
  }
  const spawnIn = (): ChildProcess => {
    const c = spawn('sh', ['-c', 'read _; exec cat /etc/hostname'], { stdio: ['pipe', 'ignore', 'ignore'] });
    if (cg) writeFileSync(join(cg, 'cgroup.procs'), String(c.pid));
    return c;
  };
  try {
    const id = cg ? statSync(cg, { bigint: true }).ino : cgroupIdOf('self');
    k.source.addCgroup(id);
    const child = spawnIn();
    child.stdin!.end('\n');
    await new Promise((r) => child.on('close', r));
    const exec = await k.waitFor((e) => e.kind === 'proc.exec' && e.pid === child.pid, 'exec in the traced cgroup');
    assert.equal(exec.cgroupId, id);
    k.source.removeCgroup(id);
    // after removal the cgroup is no longer traced
    const child2 = spawnIn();
    child2.stdin!.end('\n');
    await new Promise((r) => child2.on('close', r));
    await k.barrier();
    assert.equal(k.events.filter((e) => e.pid === child2.pid).length, 0, 'nothing from an untraced cgroup');
  } finally {
    for (let i = 0; cg && i < 50; i++) {
      try {
        rmdirSync(cg);
        break;
      } catch {
        await sleep(50);
      }
    }
  }
});

test('native source: removePid stops tracing of that process', async (t) => {
  if (!kernel(t)) return;
  const k = harness();
  const child = spawn('sh', ['-c', 'read _; cat /etc/hostname >/dev/null; read _; cat /etc/hostname >/dev/null'], {
    stdio: ['pipe', 'ignore', 'ignore'],
  });
  const pid = child.pid!;
  k.source.addPid(pid);
  child.stdin.write('\n');
  await k.waitFor((e) => e.kind === 'proc.fork' && e.pid === pid, 'fork of the first cat');
  await sleep(200);
  k.source.removePid(pid);
  const before = k.events.filter((e) => e.pid === pid).length;
  child.stdin.end('\n');
  await new Promise((r) => child.on('close', r));
  await k.barrier();
  assert.equal(k.events.filter((e) => e.pid === pid && e.kind === 'proc.fork').length, 1, 'no second fork reported');
  assert.ok(before > 0);
});
