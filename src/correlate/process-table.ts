import { readFileSync, readlinkSync } from 'node:fs';
import { newEventId } from '../contracts/envelope.js';
import { newTraceId } from './trace-context.js';

/**
 * Processes seen through proc.exec / proc.fork / proc.exit, grouped into agent
 * sessions. A session is the process tree of an agent: a process whose parent
 * is not known becomes a session root and gets a session id and a trace id;
 * its children inherit both. A W3C traceparent seen in a request of the
 * session is adopted as its trace id, so the log joins OpenTelemetry traces.
 */
export interface Session {
  id: string;
  rootPid: number;
  traceId: string;
  /** Set once a traceparent was adopted: its trace id, for `cause.session_id`. */
  upstreamTraceId: string | undefined;
  startNs: bigint;
  rootComm: string | undefined;
  rootExe: string | undefined;
  rootUid: number | undefined;
}

export interface Proc {
  pid: number;
  ppid: number | undefined;
  comm: string | undefined;
  exe: string | undefined;
  uid: number | undefined;
  gid: number | undefined;
  cgroupId: bigint;
  startNs: bigint;
  session: Session;
  /** data.access event id of its last exec (errors on exit point at it). */
  execEventId: string | undefined;
  exitedNs: bigint | undefined;
}

/** What /proc tells about a process that started before the sensor saw its exec. */
export interface LiveProcess {
  ppid: number | undefined;
  comm: string | undefined;
  exe: string | undefined;
  uid: number | undefined;
  gid: number | undefined;
}

/** Reads /proc/<pid> (best effort: the process may be gone or in another pid namespace). */
export function readLiveProcess(pid: number, procRoot = '/proc'): LiveProcess | undefined {
  try {
    const stat = readFileSync(`${procRoot}/${pid}/stat`, 'utf8');
    const close = stat.lastIndexOf(')');
    const comm = stat.slice(stat.indexOf('(') + 1, close);
    const ppid = Number(stat.slice(close + 2).split(' ')[1]);
    const status = readFileSync(`${procRoot}/${pid}/status`, 'utf8');
    const uid = /^Uid:\s+(\d+)/m.exec(status)?.[1];
    const gid = /^Gid:\s+(\d+)/m.exec(status)?.[1];
    let exe: string | undefined;
    try {
      exe = readlinkSync(`${procRoot}/${pid}/exe`);
    } catch {
      exe = undefined;
    }
    return { ppid: Number.isFinite(ppid) ? ppid : undefined, comm, exe, uid: uid ? Number(uid) : undefined, gid: gid ? Number(gid) : undefined };
  } catch {
    return undefined;
  }
}

export class ProcessTable {
  private readonly procs = new Map<number, Proc>();
  readonly sessions = new Map<string, Session>();
  /** How long an exited process stays resolvable (late records, exchanges). */
  constructor(private readonly linger = 30_000_000_000n) {}

  get size(): number {
    return this.procs.size;
  }

  get(pid: number): Proc | undefined {
    return this.procs.get(pid);
  }

  /** The process, created as a new session root when unknown. */
  ensure(pid: number, cgroupId: bigint, tNs: bigint, ppid?: number, live?: LiveProcess): { proc: Proc; created: boolean } {
    const p = this.procs.get(pid);
    if (p) return { proc: p, created: false };
    ppid ??= live?.ppid;
    const parent = ppid !== undefined ? this.procs.get(ppid) : undefined;
    const session = parent ? parent.session : this.newSession(pid, tNs);
    if (!parent && live) {
      session.rootComm = live.comm;
      session.rootExe = live.exe;
      session.rootUid = live.uid;
    }
    const proc: Proc = {
      pid,
      ppid,
      comm: live?.comm ?? parent?.comm,
      exe: live?.exe ?? parent?.exe,
      uid: live?.uid ?? parent?.uid,
      gid: live?.gid ?? parent?.gid,
      cgroupId,
      startNs: tNs,
      session,
      execEventId: undefined,
      exitedNs: undefined,
    };
    this.procs.set(pid, proc);
    return { proc, created: true };
  }

  fork(parentPid: number, childPid: number, cgroupId: bigint, tNs: bigint): Proc {
    this.ensure(parentPid, cgroupId, tNs);
    const old = this.procs.get(childPid);
    if (old) this.procs.delete(childPid); // pid reuse
    return this.ensure(childPid, cgroupId, tNs, parentPid).proc;
  }

  exec(pid: number, ppid: number, cgroupId: bigint, tNs: bigint, info: { comm: string; exe: string; uid: number; gid: number }): { proc: Proc; created: boolean } {
    const r = this.ensure(pid, cgroupId, tNs, ppid);
    const p = r.proc;
    p.comm = info.comm;
    p.exe = info.exe;
    p.uid = info.uid;
    p.gid = info.gid;
    p.exitedNs = undefined;
    if (p.session.rootPid === pid && p.session.rootComm === undefined) {
      p.session.rootComm = info.comm;
      p.session.rootExe = info.exe;
      p.session.rootUid = info.uid;
    }
    return r;
  }

  exit(pid: number, tNs: bigint): Proc | undefined {
    const p = this.procs.get(pid);
    if (p) p.exitedNs = tNs;
    return p;
  }

  adoptTraceparent(session: Session, traceId: string): boolean {
    if (session.upstreamTraceId !== undefined) return false;
    session.upstreamTraceId = traceId;
    session.traceId = traceId;
    return true;
  }

  /** Forget processes that exited more than `linger` ago (and sessions left without processes). */
  sweep(nowNs: bigint): void {
    const live = new Set<string>();
    for (const [pid, p] of this.procs) {
      if (p.exitedNs !== undefined && nowNs - p.exitedNs > this.linger) this.procs.delete(pid);
      else live.add(p.session.id);
    }
    for (const id of this.sessions.keys()) if (!live.has(id)) this.sessions.delete(id);
  }

  private newSession(rootPid: number, tNs: bigint): Session {
    const s: Session = {
      id: `sess_${newEventId()}`,
      rootPid,
      traceId: newTraceId(),
      upstreamTraceId: undefined,
      startNs: tNs,
      rootComm: undefined,
      rootExe: undefined,
      rootUid: undefined,
    };
    this.sessions.set(s.id, s);
    return s;
  }
}
