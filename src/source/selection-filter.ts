import { AR_COMM_LEN, Op, off } from '../native/abi.js';
import { HDR_SIZE } from '../native/records/fields.js';
import type { Selection } from './source.js';

const EXEC_COMM = off('ar_proc_exec', 'comm');
const FORK_CHILD = off('ar_proc_fork', 'child_pid');
const FORK_IS_THREAD = off('ar_proc_fork', 'is_thread');

/**
 * User-space selection on raw record batches, for what the kernel side cannot
 * select: `--comm` with the native collector (the kernel traces everything and
 * this keeps the processes whose exec'd comm matches, plus their children),
 * and any selection applied to a replayed capture. Works on record bytes, so
 * both `run --raw` and `record` use it; the kept records are copied unchanged.
 */
export class SelectionFilter {
  private readonly traced = new Set<number>();
  private readonly cgroups: Set<bigint>;
  private readonly comms: Set<string>;
  /** Records left out because they belong to unselected processes (not drops). */
  filtered = 0;

  constructor(private readonly sel: Selection) {
    for (const p of sel.pids) this.traced.add(p);
    this.cgroups = new Set(sel.cgroupIds);
    this.comms = new Set(sel.comms);
  }

  /** Nothing to filter: every record passes. */
  get passThrough(): boolean {
    return this.sel.all;
  }

  private select(pid: number): void {
    if (this.traced.has(pid)) return;
    this.traced.add(pid);
  }

  filterBatch(buf: Buffer): Buffer {
    if (this.sel.all) return buf;
    const keep: Buffer[] = [];
    let o = 0;
    let runStart = -1;
    while (buf.length - o >= HDR_SIZE) {
      const size = buf.readUInt32LE(o + 4);
      if (size < HDR_SIZE || size > buf.length - o) break;
      const op = buf.readUInt16LE(o);
      const pid = buf.readUInt32LE(o + 16);
      let ok = this.traced.has(pid) || (this.cgroups.size > 0 && this.cgroups.has(buf.readBigUInt64LE(o + 24)));
      if (!ok && op === Op.PROC_EXEC && this.comms.size > 0 && size >= EXEC_COMM + AR_COMM_LEN) {
        let end = buf.indexOf(0, o + EXEC_COMM);
        if (end < 0 || end > o + EXEC_COMM + AR_COMM_LEN) end = o + EXEC_COMM + AR_COMM_LEN;
        if (this.comms.has(buf.toString('utf8', o + EXEC_COMM, end))) {
          this.select(pid);
          ok = true;
        }
      }
      if (ok && op === Op.PROC_FORK && size >= FORK_IS_THREAD + 4 && buf.readUInt32LE(o + FORK_IS_THREAD) === 0) {
        this.select(buf.readUInt32LE(o + FORK_CHILD));
      }
      if (ok && op === Op.PROC_EXIT) this.traced.delete(pid);
      // Copy runs of kept records in one slice each.
      if (ok && runStart < 0) runStart = o;
      if (!ok) {
        this.filtered++;
        if (runStart >= 0) keep.push(buf.subarray(runStart, o));
        runStart = -1;
      }
      o += size;
    }
    if (runStart >= 0) keep.push(buf.subarray(runStart, o));
    // Unframed tail bytes are passed on so the decoder counts them.
    if (o < buf.length) keep.push(buf.subarray(o));
    return keep.length === 1 ? keep[0]! : Buffer.concat(keep);
  }
}
