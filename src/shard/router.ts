import { readFileSync } from 'node:fs';
import { Op, off } from '../native/abi.js';
import { HDR_SIZE } from '../native/records/fields.js';

const FORK_CHILD = off('ar_proc_fork', 'child_pid');
const FORK_IS_THREAD = off('ar_proc_fork', 'is_thread');
const EXEC_PPID = off('ar_proc_exec', 'ppid');
const EXIT_IS_THREAD = off('ar_proc_exit', 'is_thread');

/** How long an exited process keeps its shard: late records (fd summaries, TLS tails) still follow it. */
const EXITED_LINGER_MS = 30_000;

/** The live parent of a process, from /proc (a process that was running before the sensor started). */
export function procPpid(pid: number, procRoot = '/proc'): number | undefined {
  try {
    const stat = readFileSync(`${procRoot}/${pid}/stat`, 'latin1');
    // comm may hold spaces and parentheses: the fields after the last ')' are fixed.
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    return Number.isInteger(ppid) && ppid > 0 ? ppid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Splits record batches by session for the shard workers (src/shard/pool.ts). A session is the
 * process tree of an agent (src/correlate/process-table.ts), so the router keeps the same tree on
 * record bytes: a forked or exec'd child goes where its parent went, and a process whose parent is
 * unknown starts a new tree on the next shard in turn. Every record of a session therefore reaches
 * one worker, in ring-buffer order, and that worker's process table sees the whole tree.
 * Records are copied unchanged, in runs; unframed tail bytes go to shard 0, whose decoder counts them.
 */
export class ShardRouter {
  private readonly shardOf = new Map<number, number>();
  /** Exited processes, oldest first, with their exit time: forgotten after EXITED_LINGER_MS. */
  private readonly exited = new Map<number, number>();
  /** `${shard}:${cgroup id}` pairs already announced through onCgroup (bounded; re-announcing is harmless). */
  private readonly cgroupsSeen = new Set<string>();
  private next = 0;
  /** New process trees per shard (what the round robin balanced). */
  readonly trees: number[];

  constructor(
    readonly shards: number,
    private readonly o: {
      readPpid?: (pid: number) => number | undefined;
      now?: () => number;
      /** Called for the first record of each cgroup on a shard, before that record's part is returned (workload identity). */
      onCgroup?: (shard: number, cgroupId: bigint, pid: number) => void;
    } = {},
  ) {
    this.trees = new Array<number>(shards).fill(0);
  }

  get size(): number {
    return this.shardOf.size;
  }

  /** The shard of a process: its own, its parent's, or a new tree's. */
  private assign(pid: number, ppid?: number): number {
    const s = this.shardOf.get(pid);
    if (s !== undefined) return s;
    ppid ??= this.o.readPpid?.(pid);
    let shard = ppid !== undefined ? this.shardOf.get(ppid) : undefined;
    if (shard === undefined) {
      shard = this.next;
      this.next = (this.next + 1) % this.shards;
      this.trees[shard]!++;
    }
    this.shardOf.set(pid, shard);
    return shard;
  }

  /**
   * One part per shard (undefined when nothing went there), each on an ArrayBuffer of its own, so
   * it can be transferred to a worker without copying or detaching anything else.
   */
  split(buf: Buffer): (Uint8Array | undefined)[] {
    const parts: Buffer[][] = Array.from({ length: this.shards }, () => []);
    let o = 0;
    let runStart = 0;
    let runShard = -1;
    while (buf.length - o >= HDR_SIZE) {
      const size = buf.readUInt32LE(o + 4);
      if (size < HDR_SIZE || size > buf.length - o) break;
      const op = buf.readUInt16LE(o);
      const pid = buf.readUInt32LE(o + 16);
      let shard: number;
      if (op === Op.PROC_EXEC && size >= EXEC_PPID + 4) {
        shard = this.assign(pid, buf.readUInt32LE(o + EXEC_PPID));
        this.exited.delete(pid);
      } else shard = this.assign(pid);
      if (this.o.onCgroup) this.announce(shard, buf.readBigUInt64LE(o + 24), pid);
      if (op === Op.PROC_FORK && size >= FORK_IS_THREAD + 4 && buf.readUInt32LE(o + FORK_IS_THREAD) === 0) {
        const child = buf.readUInt32LE(o + FORK_CHILD);
        this.shardOf.set(child, shard); // pid reuse: the new child takes its parent's shard
        this.exited.delete(child);
      } else if (op === Op.PROC_EXIT && size >= EXIT_IS_THREAD + 4 && buf.readUInt32LE(o + EXIT_IS_THREAD) === 0) {
        this.exited.delete(pid);
        this.exited.set(pid, (this.o.now ?? Date.now)());
      }
      if (shard !== runShard) {
        if (runShard >= 0) parts[runShard]!.push(buf.subarray(runStart, o));
        runStart = o;
        runShard = shard;
      }
      o += size;
    }
    if (runShard >= 0) parts[runShard]!.push(buf.subarray(runStart, o));
    if (o < buf.length) parts[0]!.push(buf.subarray(o));
    this.sweep();
    return parts.map((p) => (p.length === 0 ? undefined : ownCopy(p)));
  }

  private announce(shard: number, cgroupId: bigint, pid: number): void {
    if (cgroupId === 0n) return;
    const k = `${shard}:${cgroupId}`;
    if (this.cgroupsSeen.has(k)) return;
    if (this.cgroupsSeen.size >= 16_384) this.cgroupsSeen.clear();
    this.cgroupsSeen.add(k);
    this.o.onCgroup!(shard, cgroupId, pid);
  }

  private sweep(): void {
    const cutoff = (this.o.now ?? Date.now)() - EXITED_LINGER_MS;
    for (const [pid, at] of this.exited) {
      if (at > cutoff) break;
      this.exited.delete(pid);
      this.shardOf.delete(pid);
    }
  }
}

function ownCopy(runs: Buffer[]): Uint8Array {
  let n = 0;
  for (const r of runs) n += r.length;
  const out = new Uint8Array(new ArrayBuffer(n));
  let at = 0;
  for (const r of runs) {
    out.set(r, at);
    at += r.length;
  }
  return out;
}
