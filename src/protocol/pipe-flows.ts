import { createHash, type Hash } from 'node:crypto';
import { SHORT_CONTENT_BYTES, type PipeFlow, type PipeSide } from '../contracts/exchange.js';

/** Content under SHORT_CONTENT_BYTES is keyed later, from its bytes: keep that many first bytes. */
const HEAD_BYTES = SHORT_CONTENT_BYTES;
/** Processes tracked per pipe: a pipe shared by more (a shell pipeline's fan-in) keeps the first ones, counted. */
const MAX_SIDES = 8;

class Flow {
  bytes = 0;
  complete = true;
  private readonly h: Hash = createHash('sha256');
  private head: Buffer[] = [];
  private headLen = 0;

  add(b: Buffer): void {
    this.bytes += b.length;
    this.h.update(b);
    if (this.headLen < HEAD_BYTES) {
      const take = b.subarray(0, HEAD_BYTES - this.headLen);
      this.head.push(Buffer.from(take)); // a copy: the stream's buffers are wiped by later stages
      this.headLen += take.length;
    }
  }

  gap(n: number): void {
    this.bytes += n;
    this.complete = false;
  }

  done(): PipeFlow {
    const head = Buffer.concat(this.head, this.headLen);
    for (const p of this.head) p.fill(0);
    this.head = [];
    return { bytes: this.bytes, sha256: this.h.digest('hex'), head, complete: this.complete };
  }
}

/**
 * The bytes each traced process wrote to and read from one pipe or unix stream socket, hashed as
 * they pass (never kept, except the first 63 bytes for the keyed hash of short content). A pipe
 * is lossless and ordered, so what one end wrote is exactly what the other end read: the hash of
 * the agent's writes is the hash of the tool's input as the tool saw it, and the other way round.
 */
export class PipeFlows {
  private readonly sides = new Map<number, [Flow, Flow]>();
  private readonly lastPid: [number, number] = [0, 0];
  overflow = 0;

  data(dir: 0 | 1, pid: number, buf: Buffer): void {
    const f = this.side(pid);
    this.lastPid[dir] = pid;
    f?.[dir].add(buf);
  }

  /** Bytes of a call that were not captured: charged to the process that made the last call that way. */
  gap(dir: 0 | 1, n: number): void {
    this.sides.get(this.lastPid[dir])?.[dir].gap(n);
  }

  /** Processes seen on the pipe. */
  count(): number {
    return this.sides.size;
  }

  done(): PipeSide[] {
    const out = [...this.sides].map(([pid, [w, r]]) => ({ pid, written: w.done(), read: r.done() }));
    this.sides.clear();
    return out;
  }

  private side(pid: number): [Flow, Flow] | undefined {
    let s = this.sides.get(pid);
    if (!s) {
      if (this.sides.size >= MAX_SIDES) {
        this.overflow++;
        return undefined;
      }
      s = [new Flow(), new Flow()];
      this.sides.set(pid, s);
    }
    return s;
  }
}
