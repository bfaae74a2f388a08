import type { PipeData, RawEvent, TlsData } from '../../src/contracts/raw-event.js';
import { ProtocolStage } from '../../src/protocol/protocol-stage.js';
import type { Exchange } from '../../src/contracts/exchange.js';
import type { ProtocolOptions } from '../../src/contracts/protocol-options.js';

/** Builds raw events the way the kernel side emits them: calls cut in 4 KiB chunks, capped per call. */
export class Capture {
  private seq = 1n;
  t = 1_000_000n;
  constructor(
    public pid = 4242,
    public ssl = 0x7f00dead0000n,
    public fd = 7,
    public cap = 16384,
  ) {}

  /** One SSL call of `data` in direction `dir` (0 = SSL_write, 1 = SSL_read). */
  call(dir: 0 | 1, data: Buffer, o: { reorder?: boolean; dropChunk?: number; cap?: number } = {}): TlsData[] {
    const seq = this.seq++;
    const captured = data.subarray(0, Math.min(data.length, o.cap ?? this.cap));
    const out: TlsData[] = [];
    for (let off = 0, i = 0; off < captured.length || (off === 0 && captured.length === 0); off += 4096, i++) {
      const chunk = captured.subarray(off, Math.min(captured.length, off + 4096));
      this.t += 1000n;
      if (o.dropChunk === i) continue;
      out.push({
        kind: 'tls.data', op: 30, version: 1, ktimeNs: this.t, pid: this.pid, tid: this.pid, cgroupId: 1n,
        sslPtr: this.ssl, direction: dir, callLen: data.length, chunkOffset: off, fd: this.fd,
        flags: data.length > captured.length ? 1 : 0, callSeq: seq, data: Buffer.from(chunk),
      });
      if (captured.length === 0) break;
    }
    if (o.reorder) out.reverse();
    return out;
  }

  /** A byte stream cut into SSL calls at the given positions. */
  split(dir: 0 | 1, data: Buffer, cuts: number[]): TlsData[] {
    const pos = [0, ...cuts.filter((c) => c > 0 && c < data.length).sort((a, b) => a - b), data.length];
    const out: TlsData[] = [];
    for (let i = 0; i + 1 < pos.length; i++) if (pos[i + 1]! > pos[i]!) out.push(...this.call(dir, data.subarray(pos[i], pos[i + 1])));
    return out;
  }
}

export function pipeEvent(pid: number, ino: bigint, dir: 0 | 1, data: Buffer, t: bigint): PipeData {
  return { kind: 'pipe.data', op: 40, version: 1, ktimeNs: t, pid, tid: pid, cgroupId: 1n, pipeIno: ino, fd: dir === 0 ? 1 : 0, direction: dir, callLen: data.length, chunkOffset: 0, flags: 0, data };
}

export function run(events: RawEvent[], opts: Partial<ProtocolOptions> = {}): { xs: Exchange[]; stage: ProtocolStage } {
  const stage = new ProtocolStage(opts);
  const xs: Exchange[] = [];
  stage.onExchange((x) => xs.push(x));
  for (const e of events) stage.push(e);
  stage.flush();
  return { xs, stage };
}

export function httpRequest(method: string, path: string, headers: Record<string, string>, body?: Buffer | string): Buffer {
  const b = body === undefined ? undefined : Buffer.isBuffer(body) ? body : Buffer.from(body);
  let h = `${method} ${path} HTTP/1.1\r\n`;
  for (const [k, v] of Object.entries(headers)) h += `${k}: ${v}\r\n`;
  if (b && !Object.keys(headers).some((k) => k.toLowerCase() === 'transfer-encoding')) h += `Content-Length: ${b.length}\r\n`;
  return Buffer.concat([Buffer.from(h + '\r\n', 'latin1'), b ?? Buffer.alloc(0)]);
}

export function httpResponse(status: number, headers: Record<string, string>, body?: Buffer | string, opts: { noLength?: boolean } = {}): Buffer {
  const b = body === undefined ? undefined : Buffer.isBuffer(body) ? body : Buffer.from(body);
  let h = `HTTP/1.1 ${status} X\r\n`;
  for (const [k, v] of Object.entries(headers)) h += `${k}: ${v}\r\n`;
  if (b && !opts.noLength && !Object.keys(headers).some((k) => k.toLowerCase() === 'transfer-encoding')) h += `Content-Length: ${b.length}\r\n`;
  return Buffer.concat([Buffer.from(h + '\r\n', 'latin1'), b ?? Buffer.alloc(0)]);
}

export function chunked(parts: string[]): string {
  return parts.map((p) => `${Buffer.byteLength(p).toString(16)}\r\n${p}\r\n`).join('') + '0\r\n\r\n';
}
