import { spawn, type SpawnOptions } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { decodeBatch } from '../../src/decode/decode-batch.js';
import type { RawEvent } from '../../src/contracts/raw-event.js';
import { NativeSource, type NativeSourceOptions } from '../../src/source/native-source.js';
import { emptySelection } from '../../src/source/source.js';

/** The raw event type(s) whose kind includes K (net.connect/net.accept share one type). */
export type OfKind<K extends RawEvent['kind']> = RawEvent extends infer E
  ? E extends { kind: infer KK }
    ? K extends KK
      ? E
      : never
    : never
  : never;

export interface TracedResult {
  pid: number;
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  stderr: Buffer;
}

/** Mount point of the cgroup v2 hierarchy (/sys/fs/cgroup, or …/unified on hybrid hosts). */
export function cgroup2Root(): string | undefined {
  for (const l of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const [pre, post] = l.split(' - ');
    if (post?.startsWith('cgroup2 ')) return pre!.split(' ')[4];
  }
  return undefined;
}

/** cgroup v2 id (= inode of the cgroup directory) of a process. */
export function cgroupIdOf(pid: number | 'self'): bigint {
  const root = cgroup2Root();
  const line = readFileSync(`/proc/${pid}/cgroup`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('0::'));
  if (!root || !line) return 0n;
  return statSync(`${root}${line.slice(3)}`, { bigint: true }).ino;
}

/**
 * One native sensor for a whole test file (loading and detaching the
 * programs takes seconds), decoding every batch with the real decoders.
 * Children are traced from their first instruction after a barrier: they
 * start as `sh -c 'read _; exec "$@"'`, the harness adds the pid to the
 * sensor and only then releases them.
 */
export class KernelHarness {
  readonly events: RawEvent[] = [];
  readonly decodeErrors: Record<string, number> = {};
  private pump: Promise<void> | undefined;

  constructor(readonly source: NativeSource) {}

  static start(opts: Partial<NativeSourceOptions> = {}): KernelHarness {
    const src = new NativeSource({ selection: emptySelection(), flushIntervalMs: 0, ...opts });
    const h = new KernelHarness(src);
    src.start();
    h.pump = (async () => {
      for await (const b of src.batches()) {
        const stats = { records: 0, errors: {} as Record<string, number> };
        for (const ev of decodeBatch(b, stats)) h.events.push(ev);
        for (const [k, v] of Object.entries(stats.errors)) h.decodeErrors[k] = (h.decodeErrors[k] ?? 0) + v;
      }
    })();
    return h;
  }

  async stop(): Promise<void> {
    await this.source.stop();
    await this.pump;
  }

  /** Runs `cmd args` traced from its exec on; resolves when it exited and its exit record arrived. */
  async run(cmd: string, args: string[], opts: SpawnOptions = {}): Promise<TracedResult> {
    const child = spawn('sh', ['-c', 'read _; exec "$@"', 'sh', cmd, ...args], {
      ...opts,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const pid = child.pid;
    if (pid === undefined) throw new Error(`cannot spawn ${cmd}`);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout!.on('data', (d: Buffer) => out.push(d));
    child.stderr!.on('data', (d: Buffer) => err.push(d));
    const closed = new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
      child.on('close', (code, signal) => resolve([code, signal])),
    );
    this.source.addPid(pid);
    child.stdin!.end('\n');
    const [code, signal] = await closed;
    await this.waitFor((e) => e.kind === 'proc.exit' && e.pid === pid && !e.isThread, `exit record of ${pid}`);
    // fd counters of the exit are emitted by another program on the same hook
    await sleep(150);
    return { pid, code, signal, stdout: Buffer.concat(out), stderr: Buffer.concat(err) };
  }

  /**
   * Returns once a process traced from now on has been seen to exit. All
   * programs share one ring buffer, consumed in reservation order, so every
   * record of anything that ran before is delivered by then: the wait for a
   * negative assertion ("nothing from X"), instead of a fixed sleep.
   */
  async barrier(): Promise<void> {
    await this.run('true', []);
  }

  async waitFor<T extends RawEvent = RawEvent>(pred: (e: RawEvent) => boolean, what: string, timeoutMs = 10_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const e = this.events.find(pred);
      if (e) return e as T;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await sleep(20);
    }
  }

  of<K extends RawEvent['kind']>(kind: K, pid?: number): OfKind<K>[] {
    return this.events.filter((e) => e.kind === kind && (pid === undefined || e.pid === pid)) as OfKind<K>[];
  }
}
