import { sortedTags } from '../classify/classifier.js';
import type { DataAccessFields } from '../contracts/agent-fields.js';
import type { NetConn, RawEvent } from '../contracts/raw-event.js';
import { countFinished, type Connection } from '../correlate/connections.js';
import { hashOf, pathHashes } from '../correlate/match-hashes.js';
import { absPath, modeOfFile, modeOfFlags, type OpenFile } from '../correlate/open-files.js';
import { sha256Hex } from '../redact/hash.js';
import { fileUri } from '../redact/uri.js';
import type { BuildContext } from './build-context.js';
import { egressAccessFields } from './egress-access.js';
import { errorFields } from './error-fields.js';
import { fileAccessFields } from './file-access.js';
import { processIdentity } from './identity-assertion.js';

/**
 * Kernel records → data.access and error events: execs, file opens and
 * their byte counts at close, file operations, failed connects, exits, and
 * finished connections (the egress floor).
 */
const EACCES = 13;
const EPERM = 1;
const CONNECT_ERRORS: Record<number, string> = { 111: 'connection_refused', 110: 'connection_timed_out', 101: 'network_unreachable', 113: 'host_unreachable', 104: 'connection_reset' };
const FOP_MODE: Record<number, DataAccessFields['access_mode']> = { 1: 'delete', 2: 'rename', 3: 'truncate', 4: 'chmod', 5: 'delete', 6: 'mkdir' };
const SWEEP_EVERY_EXITS = 256;

type Raw<K extends RawEvent['kind']> = Extract<RawEvent, { kind: K }>;

export class KernelActions {
  private exits = 0;
  constructor(private readonly ctx: BuildContext) {}

  onExec(ev: Raw<'proc.exec'>): void {
    const ctx = this.ctx;
    const { proc, created } = ctx.procs.exec(ev.pid, ev.ppid, ev.cgroupId, ev.ktimeNs, { comm: ev.comm, exe: ev.filename, uid: ev.uid, gid: ev.gid });
    if (created || proc.session.rootPid === ev.pid || proc.uid !== proc.session.rootUid) processIdentity(ctx, proc, ev.ktimeNs);
    const id = ctx.newId(ev.ktimeNs);
    proc.execEventId = id;
    const hashes = [...pathHashes(ev.filename), ...ev.args.slice(1).map(hashOf)];
    ctx.windows.markAction(proc.session, ev.ktimeNs, 'process', hashes);
    const tags = sortedTags(ctx.cls.path(ev.filename));
    ctx.holdDataAccess(proc, ev.ktimeNs, hashes, id, fileAccessFields(fileUri(ev.filename, ctx.cls), 'execute', tags), 'SUCCESS');
  }

  onExit(ev: Raw<'proc.exit'>): void {
    if (ev.isThread) return;
    const ctx = this.ctx;
    const proc = ctx.procs.get(ev.pid);
    for (const [k, f] of ctx.fds.of(ev.pid)) this.finishFile(k, f);
    for (const c of ctx.conns.onExit(ev.pid, ev.ktimeNs)) this.finishConnection(c);
    if (!proc) return;
    ctx.procs.exit(ev.pid, ev.ktimeNs);
    const code = (ev.exitCode >> 8) & 0xff;
    const sig = ev.exitCode & 0x7f;
    if (code !== 0 || sig !== 0) {
      ctx.holdError(proc, ev.ktimeNs, `exec:${proc.exe ?? ''}`, errorFields(sig ? 'process_killed' : 'process_exit_nonzero', proc.execEventId ?? null, { exit_code: sig ? null : code, signal: sig || null }));
    }
    if (proc.session.rootPid === ev.pid) {
      // After the held data accesses of the session: they still need its windows.
      const session = proc.session;
      const t = ev.ktimeNs;
      ctx.queue.hold(ctx.holdbackMs, () => ctx.windows.closeSession(session, t));
    }
    if (++this.exits % SWEEP_EVERY_EXITS === 0) {
      ctx.procs.sweep(ev.ktimeNs);
      ctx.gc();
    }
  }

  onOpen(ev: Raw<'file.open'>): void {
    const ctx = this.ctx;
    const path = absPath(ctx.readProc, ev.pid, ev.path, ev.dirfd);
    const proc = ctx.proc(ev.pid, ev.cgroupId, ev.ktimeNs);
    const tags = ctx.cls.path(path);
    // A new fd with this number means the old one was closed, even if no fd.io said so
    // (the kernel reports a close only for fds that moved bytes): finish it first, so
    // bytes of the new file are never added to the old one.
    const k = `${ev.pid}:${ev.ret}`;
    if (ev.ret >= 0) {
      const prev = ctx.fds.get(k);
      if (prev) this.finishFile(k, prev);
    }
    if (tags.size === 0 && ctx.ignored(path)) return;
    if (ev.ret >= 0) {
      ctx.fds.set(k, { pid: ev.pid, path, flags: ev.flags, openNs: ev.ktimeNs, read: 0n, written: 0n });
      ctx.windows.markAction(proc.session, ev.ktimeNs, 'file', pathHashes(path));
      return;
    }
    const errno = -ev.ret;
    if (errno !== EACCES && errno !== EPERM) return; // ENOENT and friends are probing, not a denied access
    const id = ctx.newId(ev.ktimeNs);
    ctx.holdDataAccess(proc, ev.ktimeNs, pathHashes(path), id, fileAccessFields(fileUri(path, ctx.cls), modeOfFlags(ev.flags), sortedTags(tags)), 'FAILURE');
    ctx.holdError(proc, ev.ktimeNs, `open:${sha256Hex(path)}`, errorFields('permission_denied', id, { errno }));
  }

  onFdIo(ev: Raw<'fd.io'>): void {
    this.finishConnection(this.ctx.conns.onFdIo(ev));
    const k = `${ev.pid}:${ev.fd}`;
    const f = this.ctx.fds.get(k);
    if (!f) return;
    f.read += ev.readBytes;
    f.written += ev.writeBytes;
    if (ev.reason === 1 || ev.reason === 2) this.finishFile(k, f);
  }

  finishFile(k: string, f: OpenFile): void {
    const ctx = this.ctx;
    ctx.fds.delete(k);
    const proc = ctx.procs.get(f.pid);
    if (!proc) return;
    // Tags resolved now, at access time, against the current rules.
    const tags = sortedTags(ctx.cls.path(f.path));
    ctx.holdDataAccess(proc, f.openNs, pathHashes(f.path), ctx.newId(f.openNs), fileAccessFields(fileUri(f.path, ctx.cls), modeOfFile(f), tags, Number(f.read), Number(f.written)), 'SUCCESS');
  }

  /** A finished connection → one egress data.access (the floor: where, how many bytes, how much was seen). */
  finishConnection(c: Connection | undefined): void {
    if (!c) return;
    countFinished(c);
    const proc = this.ctx.proc(c.pid, c.cgroupId, c.openNs);
    const hashes = [hashOf(c.addr), ...(c.serverName ? [hashOf(c.serverName)] : [])];
    const f = egressAccessFields(c, this.ctx.cls);
    this.ctx.holdDataAccess(proc, c.openNs, hashes, this.ctx.newId(c.openNs), f, 'SUCCESS', f.network.duration_ms);
  }

  onFileOp(ev: Raw<'file.op'>): void {
    const ctx = this.ctx;
    const path = absPath(ctx.readProc, ev.pid, ev.path);
    const proc = ctx.proc(ev.pid, ev.cgroupId, ev.ktimeNs);
    const tags = ctx.cls.path(path);
    if (ev.path2) ctx.cls.path(absPath(ctx.readProc, ev.pid, ev.path2), tags);
    if (tags.size === 0 && ctx.ignored(path)) return;
    const hashes = pathHashes(path);
    ctx.windows.markAction(proc.session, ev.ktimeNs, 'file', hashes);
    const id = ctx.newId(ev.ktimeNs);
    const ok = ev.ret >= 0;
    ctx.holdDataAccess(proc, ev.ktimeNs, hashes, id, fileAccessFields(fileUri(path, ctx.cls), FOP_MODE[ev.op_kind] ?? 'write', sortedTags(tags)), ok ? 'SUCCESS' : 'FAILURE');
    if (!ok && (-ev.ret === EACCES || -ev.ret === EPERM)) ctx.holdError(proc, ev.ktimeNs, `fop:${sha256Hex(path)}`, errorFields('permission_denied', id, { errno: -ev.ret }));
  }

  onConnect(ev: NetConn): void {
    this.finishConnection(this.ctx.conns.onConnect(ev));
    if (ev.ret >= 0) return;
    const cls = CONNECT_ERRORS[-ev.ret];
    if (!cls) return;
    const ctx = this.ctx;
    const proc = this.ctx.proc(ev.pid, ev.cgroupId, ev.ktimeNs);
    const key = `connect:${ev.addr}:${ev.port}`;
    ctx.resolveRetry(proc.session, key, null);
    const w = ctx.windows.find(proc.session, ev.ktimeNs, []);
    ctx.holdError(proc, ev.ktimeNs, key, errorFields(cls, w?.eventId ?? ctx.turns.get(proc.session.id)?.lastModelEventId ?? null, { errno: -ev.ret }));
  }

  /** Shutdown: every open file and connection is finished as of the last kernel time seen. */
  finishAll(): void {
    for (const [k, f] of this.ctx.fds.all()) this.finishFile(k, f);
    for (const c of this.ctx.conns.drain(this.ctx.lastKtime)) this.finishConnection(c);
  }
}
