import type { FdIo, NetConn, NetPeek, TlsData, TlsPair } from '../contracts/raw-event.js';
import { Flag, FlushReason, PeekKind } from '../native/abi.js';
import { AF_INET, AF_INET6 } from '../native/records/net-conn.js';
import { parseFirstBytes } from '../protocol/peer/first-bytes.js';
import { parseDnsAnswer } from '../protocol/peer/dns-answer.js';
import { Counter, countDrop, registry } from '../observability/metrics.js';

/**
 * The egress floor: every inet connection of a traced process, named and
 * measured from the kernel alone (connect, the first bytes written, DNS
 * answers, per-fd byte counters), whatever TLS library the process uses or
 * whether any was hooked. A finished connection becomes one egress
 * data.access; how much of its plaintext was seen comes from the TLS
 * capture, so a user always learns where an agent connected and how many
 * bytes left, and how blind the sensor was to their content.
 */

export type Plaintext = 'none' | 'partial' | 'full';
export type NameSource = 'sni' | 'http_host' | 'dns' | null;

export interface Connection {
  pid: number;
  tid: number;
  fd: number;
  cgroupId: bigint;
  family: number;
  addr: string;
  port: number;
  transport: 'tcp' | 'udp' | 'other';
  openNs: bigint;
  closeNs: bigint;
  /** What the first bytes were: tls, http, unknown, or null when nothing was written. */
  firstBytes: 'tls' | 'http' | 'unknown' | null;
  serverName: string | null;
  nameSource: NameSource;
  alpn: string[];
  sent: bigint;
  received: bigint;
  plaintextBytes: number;
  plaintextTruncated: boolean;
  dnsAnswers: number;
}

export interface ConnectionLimits {
  /** Live connections tracked at once; past it the oldest is finished early (counted). */
  maxConnections: number;
  /** Address → name bindings remembered per process. */
  maxDnsPerProcess: number;
  /** SSL streams whose socket is not yet known. */
  maxUnpairedTls: number;
}

export const DEFAULT_CONNECTION_LIMITS: ConnectionLimits = { maxConnections: 65536, maxDnsPerProcess: 512, maxUnpairedTls: 4096 };

const egressConnections = new Counter({
  name: 'agentrail_egress_connections_total',
  help: 'Connections finished by the egress floor, by how much of their plaintext was seen',
  labelNames: ['plaintext', 'transport'] as const,
  registers: [registry],
});
const peeks = new Counter({
  name: 'agentrail_egress_first_bytes_total',
  help: 'First writes of connections, by what named the peer (sni, http_host) or why nothing did',
  labelNames: ['result'] as const,
  registers: [registry],
});
const dnsAnswers = new Counter({
  name: 'agentrail_dns_answers_total',
  help: 'DNS answers read by traced processes, by parse result',
  labelNames: ['result'] as const,
  registers: [registry],
});

const key = (pid: number, fd: number) => `${pid}:${fd}`;

export class ConnectionTracker {
  private readonly live = new Map<string, Connection>();
  private readonly dns = new Map<number, Map<string, string>>();
  private readonly unpaired = new Map<string, { bytes: number; truncated: boolean }>();
  private readonly sslFd = new Map<string, number>();

  constructor(private readonly limits: ConnectionLimits = DEFAULT_CONNECTION_LIMITS) {}

  /** A successful connect opens a connection; returns one it replaced on the same fd (finished). */
  onConnect(ev: NetConn): Connection | undefined {
    if (ev.kind !== 'net.connect' || (ev.ret < 0 && ev.ret !== -115)) return undefined;
    if (ev.family !== AF_INET && ev.family !== AF_INET6) return undefined;
    const k = key(ev.pid, ev.fd);
    const old = this.live.get(k);
    if (old) this.live.delete(k);
    let evicted: Connection | undefined;
    if (this.live.size >= this.limits.maxConnections) {
      const first = this.live.keys().next().value as string;
      evicted = this.live.get(first);
      this.live.delete(first);
      countDrop('correlate', 'connection_table_full');
    }
    const c: Connection = {
      pid: ev.pid,
      tid: ev.tid,
      fd: ev.fd,
      cgroupId: ev.cgroupId,
      family: ev.family,
      addr: ev.addr,
      port: ev.port,
      transport: ev.sockType === 1 ? 'tcp' : ev.sockType === 2 ? 'udp' : 'other',
      openNs: ev.ktimeNs,
      closeNs: ev.ktimeNs,
      firstBytes: null,
      serverName: null,
      nameSource: null,
      alpn: [],
      sent: 0n,
      received: 0n,
      plaintextBytes: 0,
      plaintextTruncated: false,
      dnsAnswers: 0,
    };
    const name = this.dns.get(ev.pid)?.get(ev.addr);
    if (name) {
      c.serverName = name;
      c.nameSource = 'dns';
    }
    this.live.set(k, c);
    if (old) old.closeNs = ev.ktimeNs;
    return old ?? evicted;
  }

  onPeek(ev: NetPeek): void {
    const c = this.live.get(key(ev.pid, ev.fd));
    if (ev.peekKind === PeekKind.DNS_ANSWER) {
      const r = parseDnsAnswer(ev.data);
      dnsAnswers.inc({ result: r.ok ? 'ok' : r.reason });
      if (c) c.dnsAnswers++;
      if (!r.ok) return;
      let m = this.dns.get(ev.pid);
      if (!m) this.dns.set(ev.pid, (m = new Map()));
      for (const b of r.bindings) {
        m.delete(b.addr);
        m.set(b.addr, b.name);
        if (m.size > this.limits.maxDnsPerProcess) {
          m.delete(m.keys().next().value as string);
          countDrop('correlate', 'dns_bindings_evicted');
        }
      }
      return;
    }
    if (!c) return;
    const fb = parseFirstBytes(ev.data);
    c.firstBytes = fb.protocol;
    if (fb.protocol === 'tls') {
      c.alpn = fb.alpn;
      if (fb.sni) {
        c.serverName = fb.sni;
        c.nameSource = 'sni';
      }
      peeks.inc({ result: fb.sni ? 'sni' : 'tls_no_sni' });
    } else if (fb.protocol === 'http') {
      if (fb.host) {
        c.serverName = fb.host;
        c.nameSource = 'http_host';
      }
      peeks.inc({ result: fb.host ? 'http_host' : 'http_no_host' });
    } else {
      peeks.inc({ result: fb.reason });
    }
  }

  /** Captured TLS plaintext: attributed to the connection of its socket, now or once paired. */
  onTlsData(ev: TlsData): void {
    const truncated = (ev.flags & Flag.TRUNCATED) !== 0 && ev.chunkOffset === 0;
    const sk = key(ev.pid, Number(ev.sslPtr & 0xffffffffffffn));
    const fd = ev.fd >= 0 ? ev.fd : this.sslFd.get(sk);
    const c = fd === undefined ? undefined : this.live.get(key(ev.pid, fd));
    if (c) {
      c.plaintextBytes += ev.data.length;
      if (truncated) c.plaintextTruncated = true;
      return;
    }
    let u = this.unpaired.get(sk);
    if (!u) {
      if (this.unpaired.size >= this.limits.maxUnpairedTls) {
        this.unpaired.delete(this.unpaired.keys().next().value as string);
        countDrop('correlate', 'tls_unpaired_evicted');
      }
      this.unpaired.set(sk, (u = { bytes: 0, truncated: false }));
    }
    u.bytes += ev.data.length;
    if (truncated) u.truncated = true;
  }

  onTlsPair(ev: TlsPair): void {
    const sk = key(ev.pid, Number(ev.sslPtr & 0xffffffffffffn));
    this.sslFd.set(sk, ev.fd);
    if (this.sslFd.size > this.limits.maxUnpairedTls * 4) this.sslFd.delete(this.sslFd.keys().next().value as string);
    const u = this.unpaired.get(sk);
    const c = this.live.get(key(ev.pid, ev.fd));
    if (u && c) {
      c.plaintextBytes += u.bytes;
      c.plaintextTruncated ||= u.truncated;
      this.unpaired.delete(sk);
    }
  }

  /** Kernel byte counters; a close or exit flush finishes the connection. */
  onFdIo(ev: FdIo): Connection | undefined {
    const k = key(ev.pid, ev.fd);
    const c = this.live.get(k);
    if (!c) return undefined;
    c.sent += ev.writeBytes;
    c.received += ev.readBytes;
    if (ev.lastNs > c.closeNs) c.closeNs = ev.lastNs;
    if (ev.reason !== FlushReason.CLOSE && ev.reason !== FlushReason.EXIT) return undefined;
    this.live.delete(k);
    c.closeNs = ev.ktimeNs;
    return c;
  }

  /** A process exited: every connection it still had is finished. */
  onExit(pid: number, tNs: bigint): Connection[] {
    const out: Connection[] = [];
    const prefix = `${pid}:`;
    for (const [k, c] of this.live) {
      if (!k.startsWith(prefix)) continue;
      this.live.delete(k);
      c.closeNs = tNs;
      out.push(c);
    }
    this.dns.delete(pid);
    for (const k of this.sslFd.keys()) if (k.startsWith(prefix)) this.sslFd.delete(k);
    for (const k of this.unpaired.keys()) if (k.startsWith(prefix)) this.unpaired.delete(k);
    return out;
  }

  /** Every live connection (sensor stop). */
  drain(tNs: bigint): Connection[] {
    const out = [...this.live.values()];
    for (const c of out) c.closeNs = tNs;
    this.live.clear();
    return out;
  }

  get size(): number {
    return this.live.size;
  }
}

export function plaintextLevel(c: Connection): Plaintext {
  if (c.plaintextBytes === 0) return 'none';
  return c.plaintextTruncated ? 'partial' : 'full';
}

export function countFinished(c: Connection): void {
  egressConnections.inc({ plaintext: plaintextLevel(c), transport: c.transport });
}
