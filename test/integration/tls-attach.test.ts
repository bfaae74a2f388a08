/**
 * Dynamic attach (native/src/tls_attacher.cc): a traced process that maps a
 * libssl the sensor has not seen (a copy of the system libssl.so.3 with its
 * own inode, loaded through LD_LIBRARY_PATH) gets probes attached from its
 * AR_OP_PROC_MMAP_EXEC record, once per (device, inode), and its traffic is
 * captured. The client waits on stdin until the attach counter moved, so the
 * test does not depend on timing; the measured record -> probes-live latency
 * is printed as a diagnostic, not asserted.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { requireKernel, requireTool } from '../helpers/privileges.js';
import { makeTestCa, removeTestCa, startRawHttpsServer, type RawExchange } from '../helpers/tls-server.js';
import { createSensor } from '../../src/native/addon.js';
import { decodeBatch } from '../../src/decode/decode-batch.js';
import type { RawEvent, TlsData, TlsPair } from '../../src/contracts/raw-event.js';

const pyClient = `
import os, ssl, sys, urllib.request
maps = open('/proc/self/maps').read()
print('libssl-copy-mapped' if os.environ['SSL_COPY'] in maps else 'libssl-copy-missing', flush=True)
sys.stdin.readline()
ctx = ssl.create_default_context(cafile=os.environ['CA'])
req = urllib.request.Request(os.environ['URL'], data=b'dynamic-attach-body', method='POST')
with urllib.request.urlopen(req, context=ctx) as r:
    print(r.status, len(r.read()), flush=True)`;

function systemLibssl(): string | undefined {
  const r = spawnSync('python3', ['-c', "import _ssl\nfor l in open('/proc/self/maps'):\n    p = l.split()[-1]\n    if '/libssl.so' in p:\n        print(p); break"], { encoding: 'utf8' });
  const p = r.stdout?.trim();
  return p && existsSync(p) ? p : undefined;
}

test('TLS attach: a libssl first mapped by a traced process is probed from its mmap record and captured', async (t) => {
  if (!requireKernel(t)) return;
  const lib = systemLibssl();
  if (!requireTool(t, lib !== undefined, 'python3 with an _ssl module linked to a shared libssl.so')) return;
  const ca = makeTestCa();
  const copy = join(ca.dir, 'libssl.so.3');
  copyFileSync(lib!, copy);
  const server = await startRawHttpsServer(ca, () => 20_000);
  const events: RawEvent[] = [];
  const sensor = createSensor({ flushIntervalMs: 0 });
  const kids: ChildProcess[] = [];
  try {
    sensor.start((buf) => {
      if (buf) for (const e of decodeBatch(buf)) events.push(e);
    });
    const deadline = Date.now() + 10_000;
    while ((sensor.counters().observers.tls_files_attached ?? 0) === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    // The start scan attaches several files (libssl, /usr/bin/node, the running node binary when
    // it is another one): wait until it settles before counting.
    let before = sensor.counters().observers.tls_files_attached ?? 0;
    for (;;) {
      await new Promise((r) => setTimeout(r, 300));
      const now = sensor.counters().observers.tls_files_attached ?? 0;
      if (now === before) break;
      before = now;
    }
    assert.ok(before > 0, 'well-known TLS libraries attached at start');

    const child = spawn('sh', ['-c', 'read _go; exec "$@"', 'sh', 'python3', '-c', pyClient], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, LD_LIBRARY_PATH: ca.dir, SSL_COPY: copy, CA: ca.caPath, URL: `https://localhost:${server.port}/dyn` },
    });
    kids.push(child);
    const pid = child.pid!;
    sensor.addPid(pid);
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const exited = new Promise<number | null>((res) => child.on('exit', (c) => res(c)));
    child.stdin.write('\n'); // sh: exec python3
    while (!out.includes('libssl-copy') && Date.now() < deadline + 10_000) await new Promise((r) => setTimeout(r, 10));
    assert.match(out, /libssl-copy-mapped/, `the client loaded the copy (${err})`);
    // Python mapped the copy before printing; wait for the attacher to react.
    const attachDeadline = Date.now() + 10_000;
    while ((sensor.counters().observers.tls_files_attached ?? 0) <= before && Date.now() < attachDeadline) await new Promise((r) => setTimeout(r, 5));
    const c = sensor.counters().observers;
    assert.equal(c.tls_files_attached, before + 1, 'exactly one more file attached: the libssl copy');
    t.diagnostic(`mmap record -> uprobes live: ${((c.tls_record_to_attach_ns_max ?? 0) / 1e6).toFixed(2)} ms (max); attach time total ${((c.tls_attach_ns_total ?? 0) / 1e6).toFixed(1)} ms`);
    child.stdin.end('\n'); // go
    assert.equal(await exited, 0, err);
    assert.match(out, /200 20000/);
    const [ex] = (await server.waitFor(1)) as [RawExchange];
    const end = Date.now() + 5_000;
    while (!events.some((e) => e.kind === 'proc.exit' && e.pid === pid) && Date.now() < end) await new Promise((r) => setTimeout(r, 20));

    const data = events.filter((e): e is TlsData => e.kind === 'tls.data' && e.pid === pid);
    const egress = Buffer.concat(data.filter((e) => e.direction === 0).map((e) => e.data));
    const ingress = Buffer.concat(data.filter((e) => e.direction === 1).map((e) => e.data));
    assert.ok(egress.equals(ex.received), 'request captured through the dynamically attached copy');
    assert.ok(ingress.equals(ex.sent), 'response captured through the dynamically attached copy');
    const pair = events.find((e): e is TlsPair => e.kind === 'tls.pair' && e.pid === pid);
    assert.equal(pair?.how, 1, 'Python pairs inside the SSL call');

    // The same inode is not attached twice: a second traced process mapping the copy adds nothing.
    const second = spawn('sh', ['-c', 'read _go; exec "$@"', 'sh', 'python3', '-c', 'import ssl'], {
      stdio: ['pipe', 'ignore', 'ignore'],
      env: { ...process.env, LD_LIBRARY_PATH: ca.dir },
    });
    kids.push(second);
    sensor.addPid(second.pid!);
    second.stdin.end('\n');
    assert.equal(await new Promise<number | null>((res) => second.on('exit', (c) => res(c))), 0);
    const end2 = Date.now() + 5_000;
    while (!events.some((e) => e.kind === 'proc.exit' && e.pid === second.pid) && Date.now() < end2) await new Promise((r) => setTimeout(r, 20));
    assert.ok(events.some((e) => e.kind === 'proc.mmap_exec' && e.pid === second.pid), 'the second process was traced (mmap records seen)');
    assert.equal(sensor.counters().observers.tls_files_attached, before + 1, 'attach once per (device, inode)');
    assert.equal(sensor.counters().observers.tls_attach_failures, 0);
  } finally {
    for (const k of kids) if (k.exitCode === null) k.kill('SIGKILL'); // a failed assertion must not leave a client waiting on stdin
    sensor.stop();
    await server.close();
    removeTestCa(ca);
  }
});
