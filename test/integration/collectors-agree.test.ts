/**
 * "The native and bpftrace collectors agree on the process, file and
 * TLS-metadata events of the same workload": both collectors trace ONE run of
 * a deterministic workload at the same time (same pids), and the normalized
 * sets must be equal: exec filenames/argv, exit codes, opened paths, per-file
 * byte counts, connects, and TLS call directions and lengths.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { requireKernel, requireTool } from '../helpers/privileges.js';
import { makeTestCa, removeTestCa, startRawHttpsServer } from '../helpers/tls-server.js';
import { repoRoot } from '../../src/paths.js';
import { BpftraceSource } from '../../src/source/bpftrace-source.js';
import { NativeSource } from '../../src/source/native-source.js';
import { addonPath } from '../../src/native/addon.js';
import { decodeBatch } from '../../src/decode/decode-batch.js';
import type { RawEvent } from '../../src/contracts/raw-event.js';
import { emptySelection, type RawSource } from '../../src/source/source.js';
import { BPFTRACE_STR_MAX } from '../../src/source/bpftrace-lines.js';

const dir = mkdtempSync(join(tmpdir(), 'agentrail-agree-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function collect(src: RawSource, into: RawEvent[]): Promise<void> {
  return (async () => {
    for await (const b of src.batches()) into.push(...decodeBatch(b));
  })();
}

/** What both collectors can carry, in a comparable form (bpftrace keeps 200 bytes of strings). */
export function normalize(events: RawEvent[], dataDir: string) {
  const cut = (s: string) => Buffer.from(s).subarray(0, BPFTRACE_STR_MAX - 1).toString();
  const sorted = [...events].sort((a, b) => (a.ktimeNs < b.ktimeNs ? -1 : a.ktimeNs > b.ktimeNs ? 1 : 0));
  const execs: string[] = [];
  const exits: string[] = [];
  const opens: string[] = [];
  const connects: string[] = [];
  const tls: string[] = [];
  const bytes = new Map<string, { r: bigint; w: bigint }>();
  const fdPath = new Map<string, string>();
  for (const e of sorted) {
    switch (e.kind) {
      case 'proc.exec':
        execs.push(`${e.pid} ${cut(e.filename)} ${Buffer.from(e.args.map((a) => a + '\0').join('')).subarray(0, BPFTRACE_STR_MAX).toString('hex')}`);
        break;
      case 'proc.exit':
        if (!e.isThread) exits.push(`${e.pid} ${e.exitCode}`);
        break;
      case 'file.open':
        opens.push(`${e.pid} ${cut(e.path)} ${e.ret >= 0 ? 'ok' : e.ret}`);
        if (e.ret >= 0) fdPath.set(`${e.pid}:${e.ret}`, e.path);
        break;
      case 'fd.io': {
        const p = fdPath.get(`${e.pid}:${e.fd}`);
        if (p?.startsWith(dataDir)) {
          const b = bytes.get(`${e.pid} ${p}`) ?? { r: 0n, w: 0n };
          b.r += e.readBytes;
          b.w += e.writeBytes;
          bytes.set(`${e.pid} ${p}`, b);
        }
        break;
      }
      case 'net.connect':
        if (e.family === 2 || e.family === 10) connects.push(`${e.pid} ${e.addr}:${e.port}`);
        break;
      case 'tls.data':
        // one record per SSL call: the first chunk carries it
        if (e.chunkOffset === 0) tls.push(`${e.pid} ${e.direction} ${e.callLen}`);
        break;
    }
  }
  return {
    execs: execs.sort(),
    exits: exits.sort(),
    opens: opens.sort(),
    bytes: [...bytes].map(([k, v]) => `${k} r=${v.r} w=${v.w}`).sort(),
    connects: connects.sort(),
    tls: tls.sort(),
  };
}

test('native and bpftrace collectors agree on the process, file and TLS-metadata events of the same workload', { timeout: 300_000 }, async (t) => {
  if (!requireKernel(t, 'root, BTF and tracefs for both collectors')) return;
  if (!requireTool(t, spawnSync('bpftrace', ['--version']).status === 0, 'bpftrace (apt-get install bpftrace)')) return;
  if (!requireTool(t, existsSync(addonPath), `the native addon (${addonPath}; npm run build:native)`)) return;
  const dataIn = join(dir, 'in.bin');
  writeFileSync(dataIn, randomBytes(20_000));
  const ca = makeTestCa();
  const https = await startRawHttpsServer(ca, () => 5000);
  const tcp = createServer((s) => s.end());
  await new Promise<void>((r) => tcp.listen(0, '127.0.0.1', r));
  let native: NativeSource | undefined;
  let bt: BpftraceSource | undefined;
  try {
    const child = spawn(
      'sh',
      ['-c', 'read _; exec "$@"', 'sh', process.execPath, join(repoRoot, 'test/helpers/collector-workload.mjs'), dataIn, join(dir, 'out.bin'), String((tcp.address() as AddressInfo).port), String(https.port), ca.caPath, '3000'],
      { stdio: ['pipe', 'inherit', 'inherit'] },
    );
    const pid = child.pid!;
    const closed = new Promise<number | null>((r) => child.on('close', (c) => r(c)));
    const sel = { ...emptySelection(), pids: [pid] };
    const nativeEvents: RawEvent[] = [];
    const btEvents: RawEvent[] = [];
    native = new NativeSource({ selection: sel, flushIntervalMs: 0 });
    native.start();
    const pn = collect(native, nativeEvents);
    bt = new BpftraceSource({ selection: sel });
    await bt.start();
    const pb = collect(bt, btEvents);
    // the native TLS attacher works on its poll thread: wait for the well-known targets
    const deadline = Date.now() + 15_000;
    while ((native.counters()['observer.tls_probes_attached'] ?? 0) === 0 && Date.now() < deadline) await sleep(20);
    child.stdin!.end('\n');
    assert.equal(await closed, 0, 'workload succeeded');
    await https.waitFor(1);
    await sleep(1000);
    await Promise.all([native.stop(), bt.stop()]);
    await Promise.all([pn, pb]);

    assert.equal(bt.counters().lost, 0, 'bpftrace lost no events');
    assert.equal(native.counters().recordsDropped, 0, 'the native collector dropped nothing');
    const n = normalize(nativeEvents, dir);
    const b = normalize(btEvents, dir);
    // the workload really did what the comparison is about (no vacuous agreement)
    assert.ok(n.execs.length >= 2, `execs: ${n.execs.length}`);
    assert.ok(n.exits.some((x) => x.endsWith(` ${3 << 8}`)), 'exit status 3 seen');
    assert.ok(n.bytes.some((x) => x.includes('in.bin r=20000 ')), `file bytes: ${n.bytes.join(', ')}`);
    assert.ok(n.bytes.some((x) => x.includes('out.bin r=0 w=10000')));
    assert.ok(n.connects.length >= 2);
    assert.ok(n.opens.filter((x) => x.includes(dir)).length === 2, 'the two data files were opened');
    assert.ok(n.tls.some((x) => x.split(' ')[1] === '0') && n.tls.some((x) => x.split(' ')[1] === '1'), 'TLS both directions');
    for (const k of ['execs', 'exits', 'opens', 'bytes', 'connects', 'tls'] as const) assert.deepEqual(b[k], n[k], `${k} agree`);
  } finally {
    await native?.stop().catch(() => undefined);
    await bt?.stop().catch(() => undefined);
    tcp.close();
    await https.close();
    removeTestCa(ca);
  }
});
