import { AR_ABI_VERSION, Flag, FlushReason, Op } from '../native/abi.js';
import { AF_INET, AF_INET6, AF_UNIX, formatAddr } from '../native/records/net-conn.js';
import type { FdIo, RawEvent, RawHeader } from '../contracts/raw-event.js';

/**
 * Turns the JSON lines of `bpftrace -f json bpf/agentrail.bt` into raw events
 * (then encoded into ABI records by the source, so decode is shared). Pure and
 * synchronous: the unit tests feed it recorded lines.
 *
 * Line formats (printf data, tab-separated; see the header of bpf/agentrail.bt):
 *   A hdr arg_len hexbytes                                  argv area of the next X
 *   X hdr ppid uid gid comm filename                        exec
 *   F hdr child_tid is_thread                               fork/clone
 *   E hdr ppid wait_status                                  process exit
 *   O hdr dirfd ret flags mode syscall path                 open/openat/openat2
 *   I hdr fd kind rb wb rc wc first last ino reason         per-fd counters
 *   N hdr fd ret sockaddr-hex                               connect
 *   C hdr fd ret family port_be v4 v6a v6b v6c v6d          accept (peer of the new socket)
 *   T hdr ssl dir call_len hexbytes                         SSL_read/SSL_write (first 200 bytes)
 *   P hdr ino fd len hexbytes                               write() on a pipe/unix stream socket (first 200 bytes)
 * where hdr = ktime_ns pid tid cgroup_id.
 */

/** bpftrace 0.17: BPFTRACE_STRLEN tops out at 200, and so does one buf() read. */
export const BPFTRACE_STR_MAX = 200;

export interface LineStats {
  lines: number;
  events: number;
  lost: number;
  badLines: number;
  ready: boolean;
}

interface PendingArgs {
  len: number;
  bytes: Buffer;
}

function hex(s: string | undefined): Buffer {
  if (!s) return Buffer.alloc(0);
  return Buffer.from(s.replace(/ /g, ''), 'hex');
}

/** split into exactly n fields; the last one keeps any tabs (free-form string). */
function fields(s: string, n: number): string[] | undefined {
  const out: string[] = [];
  let p = 0;
  for (let i = 0; i < n - 1; i++) {
    const t = s.indexOf('\t', p);
    if (t < 0) return undefined;
    out.push(s.slice(p, t));
    p = t + 1;
  }
  out.push(s.slice(p));
  return out;
}

const bswap16 = (x: number) => ((x & 0xff) << 8) | ((x >> 8) & 0xff);

export class BpftraceLineParser {
  readonly stats: LineStats = { lines: 0, events: 0, lost: 0, badLines: 0, ready: false };
  private readonly pendingArgs = new Map<number, PendingArgs>();
  private callSeq = 0n;
  private readonly endMaps = new Map<string, Record<string, number>>();
  /** pid of bpftrace itself, from the READY line. */
  bpftracePid = 0;

  /** One stdout line of bpftrace → zero or more raw events. Never throws. */
  parseLine(line: string): RawEvent[] {
    if (!line.trim()) return [];
    this.stats.lines++;
    let msg: { type?: string; data?: unknown };
    try {
      msg = JSON.parse(line) as { type?: string; data?: unknown };
    } catch {
      // Plain-text output (no -f json, or a message bpftrace prints raw).
      const m = /Lost (\d+) events/i.exec(line);
      if (m) this.stats.lost += Number(m[1]);
      else this.stats.badLines++;
      return [];
    }
    switch (msg.type) {
      case 'printf':
        try {
          return this.parsePrintf(String(msg.data ?? '').replace(/\n$/, ''));
        } catch {
          this.stats.badLines++;
          return [];
        }
      case 'lost_events': {
        const d = msg.data as { events?: number } | undefined;
        this.stats.lost += Number(d?.events ?? 0);
        return [];
      }
      case 'map': {
        const d = msg.data as Record<string, Record<string, number>> | undefined;
        for (const [name, m] of Object.entries(d ?? {})) this.endMaps.set(name, m);
        return [];
      }
      default:
        return [];
    }
  }

  private hdr(op: number, f: string[]): RawHeader {
    return { op, version: AR_ABI_VERSION, ktimeNs: BigInt(f[1]!), pid: Number(f[2]), tid: Number(f[3]), cgroupId: BigInt(f[4]!) };
  }

  private parsePrintf(s: string): RawEvent[] {
    const tag = s.slice(0, s.indexOf('\t'));
    const ev = (e: RawEvent): RawEvent[] => {
      this.stats.events++;
      return [e];
    };
    const bad = (): RawEvent[] => {
      this.stats.badLines++;
      return [];
    };
    switch (tag) {
      case 'READY': {
        this.stats.ready = true;
        this.bpftracePid = Number(s.split('\t')[1]);
        return [];
      }
      case 'A': {
        const f = fields(s, 7);
        if (!f) return bad();
        this.pendingArgs.set(Number(f[2]), { len: Number(f[5]), bytes: hex(f[6]) });
        return [];
      }
      case 'X': {
        const f = fields(s, 10);
        if (!f) return bad();
        const pid = Number(f[2]);
        const a = this.pendingArgs.get(pid);
        this.pendingArgs.delete(pid);
        const args: string[] = [];
        let flags = 0;
        if (a) {
          let p = 0;
          while (p < a.bytes.length) {
            let z = a.bytes.indexOf(0, p);
            if (z < 0) z = a.bytes.length;
            args.push(a.bytes.toString('utf8', p, z));
            p = z + 1;
          }
          if (a.len > a.bytes.length) flags |= Flag.ARGS_TRUNCATED;
        }
        const filename = f[9]!;
        if (Buffer.byteLength(filename) >= BPFTRACE_STR_MAX - 1) flags |= Flag.PATH_TRUNCATED;
        return ev({ ...this.hdr(Op.PROC_EXEC, f), kind: 'proc.exec', ppid: Number(f[5]), uid: Number(f[6]), gid: Number(f[7]), argc: args.length, flags, comm: f[8]!, filename, args });
      }
      case 'F': {
        const f = fields(s, 7);
        if (!f) return bad();
        const isThread = f[6] === '1';
        const child = Number(f[5]);
        return ev({ ...this.hdr(Op.PROC_FORK, f), kind: 'proc.fork', childPid: isThread ? Number(f[2]) : child, childTid: child, isThread });
      }
      case 'E': {
        const f = fields(s, 7);
        if (!f) return bad();
        return ev({ ...this.hdr(Op.PROC_EXIT, f), kind: 'proc.exit', ppid: Number(f[5]), exitCode: Number(f[6]) | 0, isThread: false });
      }
      case 'O': {
        const f = fields(s, 11);
        if (!f) return bad();
        const path = f[10]!;
        return ev({
          ...this.hdr(Op.FILE_OPEN, f),
          kind: 'file.open',
          dirfd: Number(f[5]) | 0,
          ret: Number(f[6]) | 0,
          flags: Number(f[7]) >>> 0,
          mode: Number(f[8]) >>> 0,
          syscall: Number(f[9]),
          path,
          pathTruncated: Buffer.byteLength(path) >= BPFTRACE_STR_MAX - 1,
        });
      }
      case 'I': {
        const f = fields(s, 15);
        if (!f) return bad();
        return ev({
          ...this.hdr(Op.FD_IO, f),
          kind: 'fd.io',
          fd: Number(f[5]),
          fdKind: Number(f[6]),
          readBytes: BigInt(f[7]!),
          writeBytes: BigInt(f[8]!),
          readCalls: Number(f[9]),
          writeCalls: Number(f[10]),
          firstNs: BigInt(f[11]!),
          lastNs: BigInt(f[12]!),
          ino: BigInt(f[13]!),
          reason: Number(f[14]),
        });
      }
      case 'N': {
        const f = fields(s, 8);
        if (!f) return bad();
        const sa = hex(f[7]);
        const family = sa.length >= 2 ? sa.readUInt16LE(0) : 0;
        const port = sa.length >= 4 && (family === AF_INET || family === AF_INET6) ? sa.readUInt16BE(2) : 0;
        const a = Buffer.alloc(16);
        if (family === AF_INET) sa.copy(a, 0, 4, 8);
        else if (family === AF_INET6) sa.copy(a, 0, 8, 24);
        else if (family === AF_UNIX) sa.copy(a, 0, 2, 18);
        return ev({ ...this.hdr(Op.NET_CONNECT, f), kind: 'net.connect', fd: Number(f[5]), ret: Number(f[6]) | 0, family, port, sockType: 0, addr: formatAddr(family, a) });
      }
      case 'C': {
        const f = fields(s, 14);
        if (!f) return bad();
        const family = Number(f[7]);
        const a = Buffer.alloc(16);
        if (family === AF_INET) a.writeUInt32LE(Number(f[9]) >>> 0, 0);
        else if (family === AF_INET6) for (let i = 0; i < 4; i++) a.writeUInt32LE(Number(f[10 + i]) >>> 0, i * 4);
        return ev({
          ...this.hdr(Op.NET_ACCEPT, f),
          kind: 'net.accept',
          fd: Number(f[5]) | 0,
          ret: Number(f[6]) | 0,
          family,
          port: bswap16(Number(f[8]) & 0xffff),
          sockType: 0,
          addr: family === AF_INET || family === AF_INET6 ? formatAddr(family, a) : '',
        });
      }
      case 'T': {
        const f = fields(s, 9);
        if (!f) return bad();
        const data = hex(f[8]);
        const callLen = Number(f[7]);
        return ev({
          ...this.hdr(Op.TLS_DATA, f),
          kind: 'tls.data',
          sslPtr: BigInt(f[5]!),
          direction: f[6] === '1' ? 1 : 0,
          callLen,
          chunkOffset: 0,
          fd: -1,
          flags: callLen > data.length ? Flag.TRUNCATED : 0,
          callSeq: ++this.callSeq,
          data,
        });
      }
      case 'P': {
        const f = fields(s, 9);
        if (!f) return bad();
        const data = hex(f[8]);
        const callLen = Number(f[7]);
        return ev({
          ...this.hdr(Op.PIPE_DATA, f),
          kind: 'pipe.data',
          pipeIno: BigInt(f[5]!),
          fd: Number(f[6]),
          direction: 0,
          callLen,
          chunkOffset: 0,
          flags: callLen > data.length ? Flag.TRUNCATED : 0,
          data,
        });
      }
      default:
        return bad();
    }
  }

  /**
   * After bpftrace exits: counters of fds still open (printed by END as maps
   * keyed "pid,fd") become fd.io records with reason periodic.
   */
  finish(): FdIo[] {
    const rb = this.endMaps.get('@rb') ?? {};
    const wb = this.endMaps.get('@wb') ?? {};
    const rc = this.endMaps.get('@rc') ?? {};
    const wc = this.endMaps.get('@wc') ?? {};
    const first = this.endMaps.get('@first') ?? {};
    const last = this.endMaps.get('@last') ?? {};
    const out: FdIo[] = [];
    for (const key of Object.keys(first)) {
      const [pid, fd] = key.split(',').map((x) => Number(x.trim()));
      if (pid === undefined || fd === undefined || !Number.isFinite(pid) || !Number.isFinite(fd)) continue;
      const lastNs = BigInt(last[key] ?? first[key] ?? 0);
      out.push({
        op: Op.FD_IO,
        version: AR_ABI_VERSION,
        ktimeNs: lastNs,
        pid,
        tid: pid,
        cgroupId: 0n,
        kind: 'fd.io',
        fd,
        fdKind: 0,
        readBytes: BigInt(rb[key] ?? 0),
        writeBytes: BigInt(wb[key] ?? 0),
        readCalls: Number(rc[key] ?? 0),
        writeCalls: Number(wc[key] ?? 0),
        reason: FlushReason.PERIODIC,
        firstNs: BigInt(first[key] ?? 0),
        lastNs,
        ino: 0n,
      });
    }
    this.endMaps.clear();
    this.stats.events += out.length;
    return out;
  }
}
