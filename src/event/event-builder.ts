import { Classifier, sortedTags } from '../classify/classifier.js';
import { DEFAULT_IGNORE_GLOBS, DEFAULT_IGNORE_PREFIXES } from '../config/classify.js';
import picomatch from 'picomatch';
import { classifyPrompt } from '../classify/prompt-class.js';
import { credentialsFromHeaders, grantedScopeFor, withinGranted } from '../redact/credentials.js';
import { ProcessTable, readLiveProcess, type Proc, type Session } from '../correlate/process-table.js';
import { ConnectionTracker, countFinished, type Connection } from '../correlate/connections.js';
import { egressAccessFields } from './egress-access.js';
import { parseTraceparent } from '../correlate/trace-context.js';
import { HostWorkloadResolver, type WorkloadIdentity, type WorkloadResolver } from '../correlate/workload-resolver.js';
import { readlinkSync } from 'node:fs';
import { posix } from 'node:path';
import type { RawEvent } from '../contracts/raw-event.js';
import { childLogger } from '../observability/logger.js';
import { Counter, countStageError, registry } from '../observability/metrics.js';
import type { Exchange, HttpMessage, LlmCall, McpCall } from '../contracts/exchange.js';
import { contentHash, contentHashParts, sha256Hex, utf8Bytes } from '../redact/hash.js';
import { paramSchema, type ParamSchema } from '../redact/param-schema.js';
import { tokenCount } from '../redact/tokens.js';
import { fileUri, httpResourceUri } from '../redact/uri.js';
import { wipeAll } from '../redact/wipe.js';
import { safeLabel, safeLabelOrNull } from '../redact/label.js';
import { argumentsHash, outputHashes, reasoningHash } from '../redact/output-hash.js';
import { keyedHash } from '../redact/keyed-hash.js';
import {
  buildAgentEvent,
  type Cause,
  type CommonFields,
  type DataAccessFields,
  type ErrorFields,
  type IdentityAssertionFields,
  type ModelInvocationFields,
  type Reasoning,
  type ToolInvocationFields,
  type ToolRequestedRef,
} from './agent-event.js';
import { MALFORMED_URI_MARK, decodeUriComponentSafe } from '../protocol/uri-decode.js';
import { EventTypes, newEventId, nowNs, type CloudEvent } from '../contracts/envelope.js';

/**
 * The correlate → classify → redact → event stage. The pipeline feeds it raw
 * kernel events (`onRaw`) and decoded exchanges (`onExchange`); it emits
 * agent-action CloudEvents (`onEvent`). Exchanges are wiped (buffers
 * zero-filled, plaintext references dropped) once their events are built.
 *
 * Two kinds of events wait a little before they leave, so that their links
 * can be resolved: data accesses (an MCP tools/call is only known when its
 * response completes, after the file it read was closed) wait `holdbackMs`;
 * errors wait `retryWindowMs` to see whether the agent retried. `flush()`
 * releases everything (at shutdown, and in tests).
 */
export interface EventBuilderOptions {
  /** CloudEvents `source`: the sensor instance, e.g. `agentrail://<node>/<instance>`. */
  source: string;
  classifier?: Classifier;
  resolver?: WorkloadResolver;
  /** Granted scopes by workload id / service account / `*` (from configuration). */
  grantedScopes?: Record<string, string[]>;
  holdbackMs?: number;
  retryWindowMs?: number;
  /** How long after a model's tool request actions are attributed to the tool. */
  toolWindowMs?: number;
  /** File opens under these prefixes are not data accesses unless a path rule tags them. */
  ignorePathPrefixes?: string[];
  ignorePathGlobs?: string[];
  /** Kernel monotonic ns → wall-clock ns since the epoch. */
  toWallNs?: (ktimeNs: bigint) => bigint;
  /** Wall-clock ms for hold-back timers (tests inject a clock). */
  nowMs?: () => number;
  /** Read /proc/<pid> for processes that started before the sensor (the live sensor does; replays do not). */
  readProc?: boolean;
}

export interface InternalError {
  stage: string;
  reason: string;
}


interface ToolWindow {
  eventId: string;
  name: string;
  callId: string | null;
  /** SHA-256 of each string argument (and its basename), to match actions without keeping values. */
  argHashes: Set<string>;
  modelEventId: string | null;
  invocationId: string | null;
  reasoning: Reasoning | null;
  session: Session;
  proc: Proc;
  startNs: bigint;
  endNs: bigint | undefined;
  transport: 'mcp' | 'local';
  targets: Set<string>;
  schema: ParamSchema;
  sensitivity: string[];
  paramsHash: string | null;
  emitted: boolean;
  /** A later model call carried this tool's result back. */
  answered: boolean;
}

interface Turn {
  invocationId: string;
  step: number;
  instructionHash: string | null;
  lastModelEventId: string;
  reasoning: Reasoning;
}

interface OpenFile {
  pid: number;
  path: string;
  flags: number;
  openNs: bigint;
  read: bigint;
  written: bigint;
}

/** Open files by `pid:fd`, indexed by pid so an exit settles its fds without a scan. */
class FdTable {
  private readonly byKey = new Map<string, OpenFile>();
  private readonly byPid = new Map<number, Set<string>>();
  get(k: string): OpenFile | undefined {
    return this.byKey.get(k);
  }
  set(k: string, f: OpenFile): void {
    this.byKey.set(k, f);
    let s = this.byPid.get(f.pid);
    if (!s) this.byPid.set(f.pid, (s = new Set()));
    s.add(k);
  }
  delete(k: string): void {
    const f = this.byKey.get(k);
    if (!f) return;
    this.byKey.delete(k);
    const s = this.byPid.get(f.pid);
    s?.delete(k);
    if (s && !s.size) this.byPid.delete(f.pid);
  }
  of(pid: number): Array<[string, OpenFile]> {
    return [...(this.byPid.get(pid) ?? [])].map((k) => [k, this.byKey.get(k)!]);
  }
  all(): Array<[string, OpenFile]> {
    return [...this.byKey];
  }
}

interface Held {
  releaseAt: number;
  release: () => void;
}

interface PendingError {
  session: Session;
  key: string;
  tNs: bigint;
  held: { fields: ErrorFields; done: boolean };
}

const O_ACCMODE = 3;
const AT_FDCWD = -100;
const MAX_WINDOWS_PER_SESSION = 256;
/** Bounds on held events and the MCP server map (each counted when hit). */
const MAX_HELD = 200_000;
const MAX_MCP_SERVERS = 4096;
const EACCES = 13;
const EPERM = 1;
const CONNECT_ERRORS: Record<number, string> = { 111: 'connection_refused', 110: 'connection_timed_out', 101: 'network_unreachable', 113: 'host_unreachable', 104: 'connection_reset' };
const FOP_MODE: Record<number, DataAccessFields['access_mode']> = { 1: 'delete', 2: 'rename', 3: 'truncate', 4: 'chmod', 5: 'delete', 6: 'mkdir' };

const suppressed = new Counter({
  name: 'agentrail_data_access_suppressed_total',
  help: 'File accesses not reported as data.access (runtime, loader and module files), by rule kind',
  labelNames: ['reason'] as const,
  registers: [registry],
});

export class EventBuilder {
  readonly procs = new ProcessTable();
  private readonly cls: Classifier;
  private readonly resolver: WorkloadResolver;
  private readonly opts: Required<Pick<EventBuilderOptions, 'holdbackMs' | 'retryWindowMs' | 'toolWindowMs' | 'ignorePathPrefixes'>> & EventBuilderOptions;
  private readonly eventCbs: Array<(ce: CloudEvent) => void> = [];
  private readonly internalCbs: Array<(e: InternalError) => void> = [];
  private readonly toWall: (k: bigint) => bigint;
  private readonly nowMs: () => number;
  private readonly fds = new FdTable();
  /** The egress floor: connections named and measured from the kernel alone. */
  private readonly conns = new ConnectionTracker();
  private readonly windows = new Map<string, ToolWindow[]>();
  private readonly turns = new Map<string, Turn>();
  private readonly seenResults = new Map<string, Set<string>>();
  private readonly identitiesSeen = new Set<string>();
  private readonly mcpServers = new Map<string, { name: string; version: string }>();
  private readonly held = new Map<number, Held[]>();
  private heldCount = 0;
  private readonly pendingErrors = new Map<string, PendingError[]>();
  private timer: NodeJS.Timeout | undefined;
  private lastKtime = 0n;
  private exits = 0;
  private readonly log = childLogger('event');
  private readonly ignoreGlob: (path: string) => boolean;

  constructor(opts: EventBuilderOptions) {
    this.opts = {
      holdbackMs: 1000,
      retryWindowMs: 3000,
      toolWindowMs: 60_000,
      ignorePathPrefixes: [...DEFAULT_IGNORE_PREFIXES],
      ...opts,
    };
    this.ignoreGlob = picomatch(opts.ignorePathGlobs ?? [...DEFAULT_IGNORE_GLOBS], { dot: true });
    this.cls = opts.classifier ?? new Classifier();
    this.resolver = opts.resolver ?? new HostWorkloadResolver();
    const offset = nowNs() - process.hrtime.bigint();
    this.toWall = opts.toWallNs ?? ((k) => k + offset);
    this.nowMs = opts.nowMs ?? Date.now;
  }

  onEvent(cb: (ce: CloudEvent) => void): void {
    this.eventCbs.push(cb);
  }

  /** Counted bad input (`{stage, reason}`); where it concerns the agent an `error` event is emitted too. */
  onInternal(cb: (e: InternalError) => void): void {
    this.internalCbs.push(cb);
  }

  // --- raw kernel events --------------------------------------------------------

  onRaw(ev: RawEvent): void {
    try {
      if (ev.ktimeNs > this.lastKtime) this.lastKtime = ev.ktimeNs;
      switch (ev.kind) {
        case 'proc.exec':
          return this.onExec(ev);
        case 'proc.fork':
          if (!ev.isThread) this.procs.fork(ev.pid, ev.childPid, ev.cgroupId, ev.ktimeNs);
          return;
        case 'proc.exit':
          return this.onExit(ev);
        case 'file.open':
          return this.onOpen(ev);
        case 'fd.io':
          this.finishConnection(this.conns.onFdIo(ev));
          return this.onFdIo(ev);
        case 'file.op':
          return this.onFileOp(ev);
        case 'net.connect':
          this.finishConnection(this.conns.onConnect(ev));
          return this.onConnect(ev);
        case 'net.peek':
          return this.conns.onPeek(ev);
        case 'tls.data':
          return this.conns.onTlsData(ev);
        case 'tls.pair':
          return this.conns.onTlsPair(ev);
        default:
          return; // TLS/pipe data belong to the stream stage; accept/mmap carry nothing for the log here
      }
    } catch (e) {
      this.internal('correlate', 'raw_event_failed', e);
    }
  }

  private onExec(ev: Extract<RawEvent, { kind: 'proc.exec' }>): void {
    const { proc, created } = this.procs.exec(ev.pid, ev.ppid, ev.cgroupId, ev.ktimeNs, { comm: ev.comm, exe: ev.filename, uid: ev.uid, gid: ev.gid });
    if (created || proc.session.rootPid === ev.pid) this.processIdentity(proc, ev.ktimeNs);
    else if (proc.uid !== proc.session.rootUid) this.processIdentity(proc, ev.ktimeNs);
    const id = newEventId(this.ms(ev.ktimeNs));
    proc.execEventId = id;
    const argHashes = [hashOf(ev.filename), hashOf(basename(ev.filename)), ...ev.args.slice(1).map(hashOf)];
    this.markAction(proc.session, ev.ktimeNs, 'process', argHashes);
    const tags = sortedTags(this.cls.path(ev.filename));
    this.holdDataAccess(proc, ev.ktimeNs, argHashes, id, {
      resource_uri: fileUri(ev.filename, this.cls),
      access_mode: 'execute',
      row_count: null,
      byte_count: 0,
      sensitivity_tags_resolved: tags,
      triggering_event_id: null,
      resource_type: 'file',
      bytes_read: 0,
      bytes_written: 0,
      content_hash: null,
    }, 'SUCCESS');
  }

  private onExit(ev: Extract<RawEvent, { kind: 'proc.exit' }>): void {
    if (ev.isThread) return;
    const proc = this.procs.get(ev.pid);
    for (const [k, f] of this.fds.of(ev.pid)) this.finishFile(k, f, ev.ktimeNs);
    for (const c of this.conns.onExit(ev.pid, ev.ktimeNs)) this.finishConnection(c);
    if (!proc) return;
    this.procs.exit(ev.pid, ev.ktimeNs);
    const code = (ev.exitCode >> 8) & 0xff;
    const sig = ev.exitCode & 0x7f;
    if (code !== 0 || sig !== 0) {
      this.holdError(proc, ev.ktimeNs, `exec:${proc.exe ?? ''}`, {
        error_class: sig ? 'process_killed' : 'process_exit_nonzero',
        originating_event_id: proc.execEventId ?? null,
        recovery_action: 'unknown',
        http_status: null,
        errno: null,
        exit_code: sig ? null : code,
        signal: sig || null,
        retry_event_id: null,
      });
    }
    if (proc.session.rootPid === ev.pid) {
      // After the held data accesses of the session: they still need its windows.
      const session = proc.session;
      const t = ev.ktimeNs;
      this.hold(this.opts.holdbackMs, () => this.closeSessionWindows(session, t));
    }
    if (++this.exits % 256 === 0) {
      this.procs.sweep(ev.ktimeNs);
      this.gc();
    }
  }

  /** Relative paths resolved against the live cwd when /proc is readable (AT_FDCWD only; other dirfds stay relative). */
  private absPath(pid: number, path: string, dirfd = AT_FDCWD): string {
    if (!path || path.startsWith('/') || !this.opts.readProc || dirfd !== AT_FDCWD) return path;
    try {
      return posix.resolve(readlinkSync(`/proc/${pid}/cwd`), path);
    } catch {
      return path;
    }
  }

  private onOpen(raw: Extract<RawEvent, { kind: 'file.open' }>): void {
    const ev = { ...raw, path: this.absPath(raw.pid, raw.path, raw.dirfd) };
    const proc = this.proc(ev.pid, ev.cgroupId, ev.ktimeNs);
    const tags = this.cls.path(ev.path);
    // A new fd with this number means the old one was closed, even if no fd.io said so
    // (the kernel reports a close only for fds that moved bytes): finish it first, so
    // bytes of the new file are never added to the old one.
    const k = `${ev.pid}:${ev.ret}`;
    if (ev.ret >= 0) {
      const prev = this.fds.get(k);
      if (prev) this.finishFile(k, prev, ev.ktimeNs);
    }
    if (tags.size === 0 && this.ignored(ev.path)) return;
    if (ev.ret >= 0) {
      this.fds.set(k, { pid: ev.pid, path: ev.path, flags: ev.flags, openNs: ev.ktimeNs, read: 0n, written: 0n });
      this.markAction(proc.session, ev.ktimeNs, 'file', [hashOf(ev.path), hashOf(basename(ev.path))]);
      return;
    }
    const errno = -ev.ret;
    if (errno !== EACCES && errno !== EPERM) return; // ENOENT and friends are probing, not a denied access
    const id = newEventId(this.ms(ev.ktimeNs));
    const hashes = [hashOf(ev.path), hashOf(basename(ev.path))];
    this.holdDataAccess(proc, ev.ktimeNs, hashes, id, {
      resource_uri: fileUri(ev.path, this.cls),
      access_mode: modeOfFlags(ev.flags),
      row_count: null,
      byte_count: 0,
      sensitivity_tags_resolved: sortedTags(tags),
      triggering_event_id: null,
      resource_type: 'file',
      bytes_read: 0,
      bytes_written: 0,
      content_hash: null,
    }, 'FAILURE');
    this.holdError(proc, ev.ktimeNs, `open:${sha256Hex(ev.path)}`, {
      error_class: 'permission_denied',
      originating_event_id: id,
      recovery_action: 'unknown',
      http_status: null,
      errno,
      exit_code: null,
      signal: null,
      retry_event_id: null,
    });
  }

  private onFdIo(ev: Extract<RawEvent, { kind: 'fd.io' }>): void {
    const k = `${ev.pid}:${ev.fd}`;
    const f = this.fds.get(k);
    if (!f) return;
    f.read += ev.readBytes;
    f.written += ev.writeBytes;
    if (ev.reason === 1 || ev.reason === 2) this.finishFile(k, f, ev.ktimeNs);
  }

  private finishFile(k: string, f: OpenFile, _tNs: bigint): void {
    this.fds.delete(k);
    const proc = this.procs.get(f.pid);
    if (!proc) return;
    let mode = modeOfFlags(f.flags);
    if (mode === 'read_write' && f.written === 0n) mode = 'read';
    if (mode === 'read_write' && f.read === 0n) mode = 'write';
    // Tags resolved now, at access time, against the current rules.
    const tags = sortedTags(this.cls.path(f.path));
    this.holdDataAccess(proc, f.openNs, [hashOf(f.path), hashOf(basename(f.path))], newEventId(this.ms(f.openNs)), {
      resource_uri: fileUri(f.path, this.cls),
      access_mode: mode,
      row_count: null,
      byte_count: Number(f.read + f.written),
      sensitivity_tags_resolved: tags,
      triggering_event_id: null,
      resource_type: 'file',
      bytes_read: Number(f.read),
      bytes_written: Number(f.written),
      content_hash: null,
    }, 'SUCCESS');
  }

  /** A finished connection → one egress data.access (the floor: where, how many bytes, how much was seen). */
  private finishConnection(c: Connection | undefined): void {
    if (!c) return;
    countFinished(c);
    const proc = this.proc(c.pid, c.cgroupId, c.openNs);
    const hashes = [hashOf(c.addr), ...(c.serverName ? [hashOf(c.serverName)] : [])];
    const f = egressAccessFields(c, this.cls);
    this.holdDataAccess(proc, c.openNs, hashes, newEventId(this.ms(c.openNs)), f, 'SUCCESS', f.network.duration_ms);
  }

  private onFileOp(raw: Extract<RawEvent, { kind: 'file.op' }>): void {
    const ev = { ...raw, path: this.absPath(raw.pid, raw.path), path2: this.absPath(raw.pid, raw.path2) };
    const proc = this.proc(ev.pid, ev.cgroupId, ev.ktimeNs);
    const tags = this.cls.path(ev.path);
    if (ev.path2) this.cls.path(ev.path2, tags);
    if (tags.size === 0 && this.ignored(ev.path)) return;
    const hashes = [hashOf(ev.path), hashOf(basename(ev.path))];
    this.markAction(proc.session, ev.ktimeNs, 'file', hashes);
    const id = newEventId(this.ms(ev.ktimeNs));
    const ok = ev.ret >= 0;
    this.holdDataAccess(proc, ev.ktimeNs, hashes, id, {
      resource_uri: fileUri(ev.path, this.cls),
      access_mode: FOP_MODE[ev.op_kind] ?? 'write',
      row_count: null,
      byte_count: 0,
      sensitivity_tags_resolved: sortedTags(tags),
      triggering_event_id: null,
      resource_type: 'file',
      bytes_read: 0,
      bytes_written: 0,
      content_hash: null,
    }, ok ? 'SUCCESS' : 'FAILURE');
    if (!ok && (-ev.ret === EACCES || -ev.ret === EPERM)) {
      this.holdError(proc, ev.ktimeNs, `fop:${sha256Hex(ev.path)}`, {
        error_class: 'permission_denied',
        originating_event_id: id,
        recovery_action: 'unknown',
        http_status: null,
        errno: -ev.ret,
        exit_code: null,
        signal: null,
        retry_event_id: null,
      });
    }
  }

  private onConnect(ev: Extract<RawEvent, { kind: 'net.connect' | 'net.accept' }>): void {
    if (ev.kind !== 'net.connect' || ev.ret >= 0) return;
    const cls = CONNECT_ERRORS[-ev.ret];
    if (!cls) return;
    const proc = this.proc(ev.pid, ev.cgroupId, ev.ktimeNs);
    const key = `connect:${ev.addr}:${ev.port}`;
    this.resolveRetry(proc.session, key, null);
    const w = this.findWindow(proc.session, ev.ktimeNs, []);
    this.holdError(proc, ev.ktimeNs, key, {
      error_class: cls,
      originating_event_id: w?.eventId ?? this.turns.get(proc.session.id)?.lastModelEventId ?? null,
      recovery_action: 'unknown',
      http_status: null,
      errno: -ev.ret,
      exit_code: null,
      signal: null,
      retry_event_id: null,
    });
  }

  // --- exchanges ----------------------------------------------------------------

  onExchange(x: Exchange): void {
    try {
      if (x.startNs > this.lastKtime) this.lastKtime = x.startNs;
      const proc = this.proc(x.stream.pid, x.stream.cgroupId, x.startNs);
      if (x.request) this.requestContext(proc, x);
      if (x.llm) this.modelInvocation(proc, x, x.llm);
      else if (x.mcp) this.mcpExchange(proc, x, x.mcp);
      else if (x.request) this.httpAccess(proc, x, x.request, x.response);
      else this.internal('event', 'exchange_empty');
      if (x.incomplete) countStageError('event', 'exchange_incomplete');
    } catch (e) {
      this.internal('event', 'exchange_failed', e);
    } finally {
      wipeAll(x);
    }
  }

  /** Traceparent adoption and credentials presented by the request. */
  private requestContext(proc: Proc, x: Exchange): void {
    const req = x.request!;
    for (const [n, v] of req.headers) {
      if (n !== 'traceparent') continue;
      const tp = parseTraceparent(v);
      if (tp) this.procs.adoptTraceparent(proc.session, tp.traceId);
    }
    const authority = req.authority ?? '';
    for (const c of credentialsFromHeaders(req.headers, authority, this.cls)) {
      const dedupe = `${proc.session.id}|${c.keyIdHash}|${authority}`;
      if (this.identitiesSeen.has(dedupe)) continue;
      this.identitiesSeen.add(dedupe);
      const w = this.workload(proc);
      const granted = grantedScopeFor(this.opts.grantedScopes, [w.workload_id, w.service_account]);
      this.emit(EventTypes.identityAssertion, proc, x.startNs, undefined, { type: 'process', session_id: this.causeSession(proc.session) }, null, { status: 'SUCCESS', duration_ms: null }, {
        service_account: w.service_account ?? null,
        federated_identity: w.federated_identity ?? null,
        asserted_scope: c.assertedScope,
        granted_scope: granted,
        credential_type: c.type,
        key_id_hash: c.keyIdHash,
        jwt_claims: c.claims,
        audience_host: authority.replace(/:\d+$/, '').toLowerCase() || null,
        uid: proc.uid ?? null,
        gid: proc.gid ?? null,
        within_granted_scope: withinGranted(c.assertedScope, granted),
      } satisfies IdentityAssertionFields);
    }
  }

  private processIdentity(proc: Proc, tNs: bigint): void {
    if (proc.uid === undefined) return;
    const dedupe = `${proc.session.id}|uid:${proc.uid}|gid:${proc.gid}`;
    if (this.identitiesSeen.has(dedupe)) return;
    this.identitiesSeen.add(dedupe);
    const w = this.workload(proc);
    const asserted = [`uid:${proc.uid}`, `gid:${proc.gid ?? 0}`];
    const granted = grantedScopeFor(this.opts.grantedScopes, [w.workload_id, w.service_account]);
    this.emit(EventTypes.identityAssertion, proc, tNs, undefined, { type: 'process', session_id: this.causeSession(proc.session) }, null, { status: 'SUCCESS', duration_ms: null }, {
      service_account: w.service_account ?? `unix:uid:${proc.uid}`,
      federated_identity: w.federated_identity ?? null,
      asserted_scope: asserted,
      granted_scope: granted,
      credential_type: 'process_credentials',
      key_id_hash: null,
      jwt_claims: null,
      audience_host: null,
      uid: proc.uid,
      gid: proc.gid ?? null,
      within_granted_scope: withinGranted(asserted, granted),
    } satisfies IdentityAssertionFields);
  }

  private modelInvocation(proc: Proc, x: Exchange, llm: LlmCall): void {
    const session = proc.session;
    const id = newEventId(this.ms(x.startNs));
    const retryKey = `model:${x.request?.authority ?? ''}:${llm.operation}`;
    this.resolveRetry(session, retryKey, id);

    // Tool results carried back close the local tool windows they answer. A
    // chat request re-sends the whole history, so results already matched (by
    // call id, or by content for name-only APIs) are not fresh.
    const resultEventIds: string[] = [];
    const seen = this.resultsSeen(session);
    for (const r of llm.toolResults) {
      const fp = r.callId ? `id:${r.callId}` : `h:${r.name ?? ''}:${sha256Hex(r.text)}`;
      if (seen.has(fp)) continue;
      const w = this.claimWindow(session, r.callId, r.callId ? undefined : r.name && safeLabel(r.name, this.cls), 'result');
      if (!w) continue;
      seen.add(fp);
      w.answered = true;
      if (!w.emitted) {
        w.endNs = x.startNs;
        this.emitTool(w, {
          return_status: 'success',
          return_size: utf8Bytes(r.text),
          return_hash: contentHash(r.text),
          return_sensitivity: sortedTags(this.cls.text(r.text)),
        });
      }
      resultEventIds.push(w.eventId);
    }

    const userTexts = llm.inputTexts.filter((t) => t.role === 'user');
    const instruction = userTexts.length ? userTexts[userTexts.length - 1]!.text : '';
    const prompt_class = classifyPrompt({ instruction, toolsOffered: llm.toolsOffered.length, toolResults: resultEventIds.length });
    // Most decoders also list tool results among the input texts (role `tool`); count each once.
    const toolTexts = new Set(llm.inputTexts.filter((t) => t.role === 'tool').map((t) => t.text));
    const inputTexts = [...llm.inputTexts.map((t) => t.text), ...llm.toolResults.filter((r) => !toolTexts.has(r.text)).map((r) => r.text)];
    const inTok = tokenCount(llm.usage?.inputTokens, inputTexts);
    const outTok = tokenCount(llm.usage?.outputTokens, [llm.outputText, ...llm.toolsRequested.map((t) => safeJson(t.arguments))]);
    const inTags = new Set<string>();
    for (const t of inputTexts) this.cls.text(t, inTags);
    const outTags = this.cls.text(llm.outputText);
    const { output_hash, output_text_hash } = outputHashes(llm);
    const reasoning_hash = reasoningHash(llm);

    // A new user turn: no fresh tool result, and the conversation ends with a user message.
    let turn = this.turns.get(session.id);
    const last = llm.inputTexts[llm.inputTexts.length - 1];
    const newTurn = !turn || (resultEventIds.length === 0 && (last === undefined || last.role === 'user'));
    if (newTurn) {
      turn = {
        invocationId: `inv_${id}`,
        step: 1,
        instructionHash: instruction ? keyedHash('instruction', instruction) : null,
        lastModelEventId: id,
        reasoning: { hash: reasoning_hash, class: prompt_class, token_count: outTok.count, step: 1 },
      };
    } else {
      turn!.step++;
      turn!.lastModelEventId = id;
    }
    const t = turn!;
    t.reasoning = { hash: reasoning_hash, class: prompt_class, token_count: outTok.count, step: t.step };
    this.turns.set(session.id, t);

    const tools_requested: ToolRequestedRef[] = [];
    for (const tr of llm.toolsRequested) {
      const tags = this.cls.value(tr.arguments);
      const schema = paramSchema(tr.arguments, this.cls);
      tools_requested.push({ name: safeLabel(tr.name, this.cls), call_id: tr.callId ?? null, param_schema: schema, param_sensitivity: sortedTags(tags), arguments_hash: argumentsHash(tr) });
      this.openWindow(session, proc, {
        name: safeLabel(tr.name, this.cls),
        callId: tr.callId ?? null,
        args: tr.arguments,
        schema,
        sensitivity: sortedTags(tags),
        modelEventId: id,
        invocationId: t.invocationId,
        reasoning: t.reasoning,
        startNs: x.endNs,
      });
    }

    const failed = llm.error !== undefined || (x.response?.status ?? 0) >= 400;
    const cause: Cause = resultEventIds.length
      ? { type: 'tool_result', session_id: this.causeSession(session), event_id: resultEventIds[0]! }
      : { type: 'user_instruction', session_id: this.causeSession(session), ...(t.instructionHash ? { instruction_hash: t.instructionHash } : {}) };
    if (!llm.model) this.internal('event', 'llm_model_missing');
    this.emit(EventTypes.modelInvocation, proc, x.startNs, id, cause, t.reasoning, this.outcome(x, failed), {
      model_id: llm.model ? safeLabel(llm.model, this.cls) : 'unknown',
      prompt_class,
      prompt_token_count: inTok.count,
      input_sensitivity: sortedTags(inTags),
      output_token_count: outTok.count,
      output_sensitivity: sortedTags(outTags),
      output_hash,
      output_text_hash,
      output_complete: !x.incomplete && !x.response?.truncated,
      tools_requested,
      policy_interventions: [],
      provider: llm.provider,
      operation: llm.operation,
      stream: llm.stream,
      token_count_source: inTok.source === outTok.source ? inTok.source : `${inTok.source}+${outTok.source}`,
      input_hash: contentHashParts(inputTexts.flatMap((s, i) => (i ? ['\n', s] : [s]))),
      // issue-10a: whole model calls — a request cut by a capture cap keeps its true size
      input_byte_count: llm.inputComplete === false ? (llm.inputWireBytes ?? 0) : inputTexts.reduce((n, s) => n + utf8Bytes(s), 0),
      input_complete: llm.inputComplete !== false,
      output_byte_count: utf8Bytes(llm.outputText),
      tools_offered: llm.toolsOffered.map((n) => safeLabel(n, this.cls)),
      finish_reason: safeLabelOrNull(llm.finishReason, this.cls, 64),
      server: x.request?.authority ?? null,
      tool_result_event_ids: resultEventIds,
    } satisfies ModelInvocationFields);
    if (failed) {
      const status = llm.error?.status ?? x.response?.status ?? 0;
      this.holdError(proc, x.endNs, retryKey, {
        error_class: `model_api_error${llm.error?.type ? `:${sanitizeClass(safeLabel(llm.error.type, this.cls, 64))}` : ''}`,
        originating_event_id: id,
        recovery_action: 'unknown',
        http_status: status || null,
        errno: null,
        exit_code: null,
        signal: null,
        retry_event_id: null,
      });
    }
    if (x.incomplete) this.streamIncomplete(proc, x, id);
  }

  private mcpExchange(proc: Proc, x: Exchange, mcp: McpCall): void {
    const session = proc.session;
    if (mcp.method === 'initialize') {
      if (mcp.serverInfo && this.mcpServers.size >= MAX_MCP_SERVERS && !this.mcpServers.has(x.stream.key)) {
        // Bounded: the oldest stream's server identity goes first (counted).
        this.mcpServers.delete(this.mcpServers.keys().next().value as string);
        countStageError('event', 'mcp_server_map_full');
      }
      if (mcp.serverInfo) this.mcpServers.set(x.stream.key, { name: safeLabel(String(mcp.serverInfo.name), this.cls), version: safeLabel(String(mcp.serverInfo.version), this.cls, 64) });
      return;
    }
    const server = this.mcpServers.get(x.stream.key) ?? null;
    if (mcp.method === 'tools/call') {
      if (!mcp.toolName) {
        this.internal('event', 'mcp_tool_missing');
        return;
      }
      this.resolveRetry(session, `tool:${mcp.toolName}`, null);
      // The model's request for this tool, when one is pending: same id and link.
      const claimed = this.claimWindow(session, undefined, safeLabel(mcp.toolName, this.cls), 'mcp');
      const tags = this.cls.value(mcp.arguments);
      const w: ToolWindow = claimed ?? {
        eventId: newEventId(this.ms(x.startNs)),
        name: safeLabel(mcp.toolName, this.cls),
        callId: null,
        argHashes: argHashes(mcp.arguments),
        modelEventId: null,
        invocationId: this.turns.get(session.id)?.invocationId ?? null,
        reasoning: null,
        session,
        proc,
        startNs: x.startNs,
        endNs: undefined,
        transport: 'mcp',
        targets: new Set(),
        schema: paramSchema(mcp.arguments, this.cls),
        sensitivity: sortedTags(tags),
        paramsHash: mcp.arguments === undefined ? null : contentHash(safeJson(mcp.arguments)),
        emitted: false,
        answered: false,
      };
      w.transport = 'mcp';
      w.startNs = x.startNs;
      w.endNs = x.endNs;
      w.targets.add('mcp_server');
      if (!claimed) this.windowsOf(session).push(w);
      for (const h of argHashes(mcp.arguments)) w.argHashes.add(h);
      const failed = mcp.error !== undefined || mcp.isError === true;
      const text = mcp.resultText ?? (mcp.result !== undefined ? safeJson(mcp.result) : undefined);
      this.emitTool(w, {
        tool_version: server?.version ?? null,
        mcp_server: server,
        return_status: mcp.result === undefined && !mcp.error ? 'unknown' : failed ? 'error' : 'success',
        return_size: mcp.resultBytes ?? (text !== undefined ? utf8Bytes(text) : null),
        return_hash: text !== undefined ? contentHash(text) : null,
        return_sensitivity: text !== undefined ? sortedTags(this.cls.text(text)) : [],
        outcome: this.outcome(x, failed),
      });
      if (failed) {
        this.holdError(proc, x.endNs, `tool:${mcp.toolName}`, {
          error_class: mcp.error ? `mcp_error:${mcp.error.code}` : 'tool_error',
          originating_event_id: w.eventId,
          recovery_action: 'unknown',
          http_status: null,
          errno: null,
          exit_code: null,
          signal: null,
          retry_event_id: null,
        });
      }
      return;
    }
    if (mcp.method === 'resources/read' || mcp.method === 'prompts/get') {
      const isRes = mcp.method === 'resources/read';
      const text = mcp.resultText ?? (mcp.result !== undefined ? safeJson(mcp.result) : '');
      const tags = this.cls.text(text);
      const uri = isRes ? redactUri(mcp.resourceUri ?? 'mcp:unknown', this.cls) : `mcp-prompt:${encodeURIComponent(mcp.promptName ?? 'unknown')}`;
      if (isRes && mcp.resourceUri?.startsWith('file://')) this.cls.path(mcp.resourceUri.slice(7), tags);
      const bytes = mcp.resultBytes ?? utf8Bytes(text);
      this.holdDataAccess(proc, x.startNs, mcp.resourceUri ? [hashOf(mcp.resourceUri)] : [], newEventId(this.ms(x.startNs)), {
        resource_uri: uri,
        access_mode: 'read',
        row_count: null,
        byte_count: bytes,
        sensitivity_tags_resolved: sortedTags(tags),
        triggering_event_id: null,
        resource_type: isRes ? 'mcp_resource' : 'mcp_prompt',
        bytes_read: bytes,
        bytes_written: 0,
        content_hash: text ? contentHash(text) : null,
      }, mcp.error ? 'FAILURE' : 'SUCCESS');
    }
  }

  private httpAccess(proc: Proc, x: Exchange, req: HttpMessage, res: HttpMessage | undefined): void {
    const scheme = x.stream.transport === 'tls' ? 'https' : 'http';
    const r = httpResourceUri(scheme, req.authority ?? 'unknown', req.path ?? '/', this.cls);
    const method = (req.method ?? 'GET').toUpperCase();
    const mode: DataAccessFields['access_mode'] = method === 'GET' || method === 'HEAD' || method === 'OPTIONS' ? 'read' : method === 'DELETE' ? 'delete' : 'write';
    const retryKey = `http:${method}:${r.uri}`;
    const id = newEventId(this.ms(x.startNs));
    this.resolveRetry(proc.session, retryKey, id);
    const hashes = [hashOf(r.uri), hashOf(req.authority ?? '')];
    this.markAction(proc.session, x.startNs, 'http', hashes);
    const tags = new Set<string>();
    if (res && res.body.length) this.cls.text(res.body.toString('utf8'), tags);
    if (req.body.length) this.cls.text(req.body.toString('utf8'), tags);
    const status = res?.status ?? 0;
    this.holdDataAccess(proc, x.startNs, hashes, id, {
      resource_uri: r.uri,
      access_mode: mode,
      row_count: res ? rowCount(res) : null,
      byte_count: req.decodedBytes + (res?.decodedBytes ?? 0),
      sensitivity_tags_resolved: sortedTags(tags),
      triggering_event_id: null,
      resource_type: r.type,
      bytes_read: res?.decodedBytes ?? 0,
      bytes_written: req.decodedBytes,
      content_hash: res && !res.truncated ? contentHash(res.body) : null,
      // Both directions: what left (the request body: an uploaded file's exact bytes) and what came back.
      request_hash: req.body.length && !req.truncated ? contentHash(req.body) : null,
      response_hash: res && res.body.length && !res.truncated ? contentHash(res.body) : null,
    }, status >= 400 ? 'FAILURE' : res ? 'SUCCESS' : 'UNKNOWN', this.durationMs(x));
    if (status >= 400) {
      this.holdError(proc, x.endNs, retryKey, {
        error_class: status >= 500 ? 'http_server_error' : 'http_client_error',
        originating_event_id: id,
        recovery_action: 'unknown',
        http_status: status,
        errno: null,
        exit_code: null,
        signal: null,
        retry_event_id: null,
      });
    }
    if (x.incomplete) this.streamIncomplete(proc, x, id);
  }

  private streamIncomplete(proc: Proc, x: Exchange, originating: string): void {
    this.holdError(proc, x.endNs, `incomplete:${originating}`, {
      error_class: 'stream_incomplete',
      originating_event_id: originating,
      recovery_action: 'unknown',
      http_status: null,
      errno: null,
      exit_code: null,
      signal: null,
      retry_event_id: null,
    });
  }

  // --- tool windows ----------------------------------------------------------------

  private resultsSeen(s: Session): Set<string> {
    let r = this.seenResults.get(s.id);
    if (!r) this.seenResults.set(s.id, (r = new Set()));
    if (r.size > 4096) r.clear();
    return r;
  }

  private windowsOf(s: Session): ToolWindow[] {
    let l = this.windows.get(s.id);
    if (!l) this.windows.set(s.id, (l = []));
    return l;
  }

  private openWindow(session: Session, proc: Proc, o: { name: string; callId: string | null; args: unknown; schema: ParamSchema; sensitivity: string[]; modelEventId: string; invocationId: string; reasoning: Reasoning; startNs: bigint }): void {
    const l = this.windowsOf(session);
    // Bounded per session: the oldest windows are settled first (emitted if acted on, else dropped).
    while (l.length >= MAX_WINDOWS_PER_SESSION) {
      const w = l.shift()!;
      if (!w.emitted && w.targets.size > 0) this.emitTool(w, { return_status: 'unknown', return_sensitivity: [] });
      w.emitted = true;
    }
    l.push({
      eventId: newEventId(this.ms(o.startNs)),
      name: o.name,
      callId: o.callId,
      argHashes: argHashes(o.args),
      modelEventId: o.modelEventId,
      invocationId: o.invocationId,
      reasoning: o.reasoning,
      session,
      proc,
      startNs: o.startNs,
      endNs: undefined,
      transport: 'local',
      targets: new Set(),
      schema: o.schema,
      sensitivity: o.sensitivity,
      paramsHash: o.args === undefined ? null : contentHash(safeJson(o.args)),
      emitted: false,
      answered: false,
    });
  }

  /** A pending model tool request matching by call id, then name (MCP tool names may carry a client prefix), oldest first. */
  private claimWindow(session: Session, callId: string | undefined, name: string | undefined, why: 'result' | 'mcp'): ToolWindow | undefined {
    const l = this.windows.get(session.id) ?? [];
    // An MCP call consumes a pending model request; a result answers a request, carried out locally or over MCP.
    const open = l.filter((w) => (why === 'mcp' ? !w.emitted && w.transport === 'local' : !w.answered && w.modelEventId !== null));
    if (callId) {
      const w = open.find((w) => w.callId === callId);
      if (w) return w;
    }
    if (name) {
      const w = open.find((w) => w.name === name || w.name.endsWith(`__${name}`) || name.endsWith(`__${w.name}`) || w.name.endsWith(`.${name}`));
      if (w) return w;
    }
    return callId === undefined && name === undefined ? open[0] : undefined;
  }

  /** Marks now only when unambiguous (argument match, or a single open window); the hold-back release marks the rest. */
  private markAction(session: Session, tNs: bigint, target: string, hashes: string[]): void {
    const w = this.findWindow(session, tNs, hashes, true);
    if (!w) return;
    const open = (this.windows.get(session.id) ?? []).filter((x) => !x.emitted && x.transport === 'local');
    if (open.length === 1 || hashes.some((h) => w.argHashes.has(h))) w.targets.add(target);
  }

  /** The tool invocation an action at `tNs` belongs to: a window containing it, argument-hash matches first, latest start next. */
  private findWindow(session: Session, tNs: bigint, hashes: string[], localOnly = false): ToolWindow | undefined {
    const l = this.windows.get(session.id);
    if (!l) return undefined;
    const maxOpen = BigInt(this.opts.toolWindowMs) * 1_000_000n;
    const cands = l.filter((w) => {
      if (localOnly && w.transport !== 'local') return false;
      if (tNs < w.startNs) return false;
      return w.endNs !== undefined ? tNs <= w.endNs : tNs - w.startNs <= maxOpen;
    });
    if (!cands.length) return undefined;
    const byHash = cands.filter((w) => hashes.some((h) => w.argHashes.has(h)));
    const pool = byHash.length ? byHash : cands;
    // Latest start wins; on a tie a bounded window (an MCP call seen whole) beats an open one.
    return pool.reduce((a, b) => (b.startNs > a.startNs || (b.startNs === a.startNs && a.endNs === undefined && b.endNs !== undefined) ? b : a));
  }

  private emitTool(w: ToolWindow, r: Partial<ToolInvocationFields> & { return_sensitivity: string[]; outcome?: { status: 'SUCCESS' | 'FAILURE' | 'UNKNOWN'; duration_ms: number | null } }): void {
    if (w.emitted) return;
    w.emitted = true;
    const duration = w.endNs !== undefined ? Number(w.endNs - w.startNs) / 1e6 : null;
    const target = w.targets.has('mcp_server') && w.targets.size === 1 ? 'mcp_server' : [...w.targets].filter((t) => t !== 'mcp_server').sort().join('+') || (w.transport === 'mcp' ? 'mcp_server' : 'in_process');
    const { outcome, return_sensitivity, ...rest } = r;
    const cause: Cause = w.modelEventId
      ? { type: 'model_tool_call', session_id: this.causeSession(w.session), event_id: w.modelEventId }
      : { type: 'process', session_id: this.causeSession(w.session) };
    this.emit(EventTypes.toolInvocation, w.proc, w.startNs, w.eventId, cause, w.reasoning, outcome ?? { status: r.return_status === 'error' ? 'FAILURE' : r.return_status === 'success' ? 'SUCCESS' : 'UNKNOWN', duration_ms: duration }, {
      tool_name: w.name,
      tool_version: null,
      param_schema: w.schema,
      param_sensitivity: w.sensitivity,
      target_resource_type: target,
      return_status: 'unknown',
      return_size: null,
      return_hash: null,
      duration_ms: duration,
      triggering_event_id: w.modelEventId,
      call_id: w.callId,
      transport: w.transport,
      mcp_server: null,
      params_hash: w.paramsHash,
      ...rest,
      return_sensitivity,
    } satisfies ToolInvocationFields, w.invocationId);
  }

  /** Windows with an observed action but no result yet leave as `unknown`; requests never acted on leave nothing. */
  private closeSessionWindows(session: Session, tNs: bigint | undefined): void {
    for (const w of this.windows.get(session.id) ?? []) {
      if (w.emitted) continue;
      if (w.targets.size > 0) {
        w.endNs ??= tNs;
        this.emitTool(w, { return_status: 'unknown', return_sensitivity: [] });
      } else w.emitted = true;
    }
    this.windows.delete(session.id);
  }

  private expireWindows(): void {
    const maxOpen = BigInt(this.opts.toolWindowMs) * 1_000_000n;
    for (const [sid, l] of this.windows) {
      for (const w of l) {
        if (w.emitted || w.endNs !== undefined || this.lastKtime - w.startNs <= maxOpen) continue;
        if (w.targets.size > 0) this.emitTool(w, { return_status: 'unknown', return_sensitivity: [] });
        else w.emitted = true;
      }
      const keep = l.filter((w) => !w.emitted || (w.endNs !== undefined && this.lastKtime - w.endNs <= maxOpen));
      if (keep.length) this.windows.set(sid, keep);
      else this.windows.delete(sid);
    }
  }

  // --- hold-back queue ----------------------------------------------------------------

  private holdDataAccess(proc: Proc, tNs: bigint, hashes: string[], id: string, f: DataAccessFields, status: 'SUCCESS' | 'FAILURE' | 'UNKNOWN', duration: number | null = null): void {
    const invocation = this.turns.get(proc.session.id)?.invocationId ?? null;
    this.hold(this.opts.holdbackMs, () => {
      const w = this.findWindow(proc.session, tNs, hashes);
      if (w) w.targets.add(f.resource_type === 'url' || f.resource_type === 'object' ? 'http' : f.access_mode === 'execute' ? 'process' : 'file');
      f.triggering_event_id = w?.eventId ?? null;
      const cause: Cause = w ? { type: 'tool_invocation', session_id: this.causeSession(proc.session), event_id: w.eventId } : { type: 'process', session_id: this.causeSession(proc.session) };
      this.emit(EventTypes.dataAccess, proc, tNs, id, cause, w?.reasoning ?? null, { status, duration_ms: duration }, f, w?.invocationId ?? invocation);
    });
  }

  private holdError(proc: Proc, tNs: bigint, key: string, f: ErrorFields): void {
    const held = { fields: f, done: false };
    const pe: PendingError = { session: proc.session, key, tNs, held };
    const k = `${proc.session.id}|${key}`;
    let list = this.pendingErrors.get(k);
    if (!list) this.pendingErrors.set(k, (list = []));
    list.push(pe);
    const invocation = this.turns.get(proc.session.id)?.invocationId ?? null;
    this.hold(this.opts.retryWindowMs, () => {
      held.done = true;
      const l = this.pendingErrors.get(k);
      if (l) {
        l.splice(l.indexOf(pe), 1);
        if (!l.length) this.pendingErrors.delete(k);
      }
      if (f.recovery_action === 'unknown') f.recovery_action = 'none';
      const cause: Cause = f.originating_event_id
        ? { type: 'process', session_id: this.causeSession(proc.session), event_id: f.originating_event_id }
        : { type: 'process', session_id: this.causeSession(proc.session) };
      this.emit(EventTypes.error, proc, tNs, undefined, cause, null, { status: 'FAILURE', duration_ms: null }, f, invocation);
    });
  }

  /** The same operation again in the same session: the pending error was retried. */
  private resolveRetry(session: Session, key: string, retryEventId: string | null): void {
    for (const pe of this.pendingErrors.get(`${session.id}|${key}`) ?? []) {
      if (pe.held.done || pe.held.fields.recovery_action === 'retry') continue;
      pe.held.fields.recovery_action = 'retry';
      pe.held.fields.retry_event_id = retryEventId;
    }
  }

  private hold(ms: number, release: () => void): void {
    // One FIFO per delay: each is ordered by release time, so ticks pop from the front.
    let q = this.held.get(ms);
    if (!q) this.held.set(ms, (q = []));
    if (++this.heldCount > MAX_HELD) {
      // Bounded: release the oldest held event early (its attribution window is cut short), never drop it.
      const oldest = [...this.held.values()].find((x) => x.length > 0)?.shift();
      this.heldCount--;
      countStageError('event', 'holdback_queue_full');
      if (oldest) this.safe(oldest.release);
    }
    q.push({ releaseAt: this.nowMs() + ms, release });
    if (!this.timer) {
      this.timer = setInterval(() => this.tick(), Math.max(50, Math.min(this.opts.holdbackMs, this.opts.retryWindowMs) / 2));
      this.timer.unref();
    }
  }

  /** Release what is due (the timer calls this; tests may too). */
  tick(): void {
    const now = this.nowMs();
    let any = false;
    // Shorter delays (data accesses) first: errors may point at them.
    for (const ms of [...this.held.keys()].sort((a, b) => a - b)) {
      const q = this.held.get(ms)!;
      let n = 0;
      while (n < q.length && q[n]!.releaseAt <= now) n++;
      if (!n) continue;
      any = true;
      this.heldCount -= n;
      for (const h of q.splice(0, n)) this.safe(h.release);
    }
    if (any) this.expireWindows();
  }

  /** Release everything held and close every tool window (shutdown, tests). */
  flush(): void {
    this.releaseAll();
    for (const [k, f] of this.fds.all()) this.finishFile(k, f, this.lastKtime);
    for (const c of this.conns.drain(this.lastKtime)) this.finishConnection(c);
    this.releaseAll();
    for (const s of [...this.windows.keys()]) {
      const any = this.windows.get(s)?.[0];
      if (any) this.closeSessionWindows(any.session, undefined);
    }
  }

  private releaseAll(): void {
    for (;;) {
      const qs = [...this.held.entries()].sort((a, b) => a[0] - b[0]).filter(([, q]) => q.length);
      if (!qs.length) return;
      for (const [, q] of qs) {
        this.heldCount -= q.length;
        for (const h of q.splice(0)) this.safe(h.release);
      }
    }
  }

  close(): void {
    this.flush();
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  // --- helpers ----------------------------------------------------------------------

  private emit(type: (typeof EventTypes)[keyof typeof EventTypes], proc: Proc, tNs: bigint, id: string | undefined, cause: Cause, reasoning: Reasoning | null, outcome: CommonFields['outcome'], fields: object, invocationId?: string | null): void {
    const w = this.workload(proc);
    const session = proc.session;
    const inv = invocationId !== undefined ? invocationId : (this.turns.get(session.id)?.invocationId ?? null);
    const ce = buildAgentEvent(
      {
        type,
        source: this.opts.source,
        timeNs: this.toWall(tNs),
        ...(id ? { id } : {}),
        common: {
          trace_id: session.traceId,
          workload_id: w.workload_id,
          agent_session_id: session.id,
          agent: { id: w.workload_id, session_id: session.id, invocation_id: inv },
          cause,
          reasoning,
          outcome,
          process: { pid: proc.pid, ppid: proc.ppid ?? null, comm: proc.comm ?? null, exe: proc.exe ?? null, uid: proc.uid ?? null },
        },
      },
      fields,
    );
    for (const cb of this.eventCbs) cb(ce as unknown as CloudEvent);
  }

  private workload(proc: Proc): WorkloadIdentity {
    const s = proc.session;
    const hint = { comm: s.rootComm ?? proc.comm, exe: s.rootExe ?? proc.exe, uid: proc.uid };
    return this.resolver.resolve(proc.pid, proc.cgroupId, hint) ?? new HostWorkloadResolver().resolve(proc.pid, proc.cgroupId, hint);
  }

  /** A process first seen by a record other than exec/fork: started before the sensor (read /proc when enabled). */
  private proc(pid: number, cgroupId: bigint, tNs: bigint): Proc {
    const known = this.procs.get(pid);
    if (known) return known;
    const live = this.opts.readProc ? readLiveProcess(pid) : undefined;
    const { proc } = this.procs.ensure(pid, cgroupId, tNs, undefined, live);
    this.processIdentity(proc, tNs);
    return proc;
  }

  /** Forget per-session state of sessions the process table no longer holds. */
  private gc(): void {
    const live = this.procs.sessions;
    for (const m of [this.turns, this.seenResults, this.windows] as Array<Map<string, unknown>>) for (const k of m.keys()) if (!live.has(k)) m.delete(k);
    for (const k of this.identitiesSeen) if (!live.has(k.slice(0, k.indexOf('|')))) this.identitiesSeen.delete(k);
  }

  private causeSession(s: Session): string {
    return s.upstreamTraceId ? `otel:${s.upstreamTraceId}` : s.id;
  }

  private outcome(x: Exchange, failed: boolean): CommonFields['outcome'] {
    return { status: failed ? 'FAILURE' : x.incomplete ? 'UNKNOWN' : 'SUCCESS', duration_ms: this.durationMs(x) };
  }

  private durationMs(x: Exchange): number {
    return Math.max(0, Number(x.endNs - x.startNs) / 1e6);
  }

  private ms(kNs: bigint): number {
    return Number(this.toWall(kNs) / 1_000_000n);
  }

  private ignored(path: string): boolean {
    if (this.opts.ignorePathPrefixes.some((p) => path.startsWith(p))) {
      suppressed.inc({ reason: 'path_prefix' });
      return true;
    }
    if (this.ignoreGlob(path)) {
      suppressed.inc({ reason: 'path_glob' });
      return true;
    }
    return false;
  }

  private safe(f: () => void): void {
    try {
      f();
    } catch (e) {
      this.internal('event', 'build_failed', e);
    }
  }

  private internal(stage: string, reason: string, e?: unknown): void {
    // Only the reason and the error's class name: messages may quote captured input.
    countStageError(stage, reason);
    this.log.warn({ stage, reason, errClass: e instanceof Error ? e.name : undefined }, 'bad input counted');
    for (const cb of this.internalCbs) cb({ stage, reason });
  }
}

function hashOf(s: string): string {
  return sha256Hex(s);
}

function basename(p: string): string {
  return p.slice(p.lastIndexOf('/') + 1);
}

function argHashes(v: unknown, out: Set<string> = new Set(), depth = 0): Set<string> {
  if (depth > 8) return out;
  if (typeof v === 'string') {
    out.add(hashOf(v));
    const b = basename(v);
    if (b && b !== v) out.add(hashOf(b));
    // Commands carry paths and URLs as words.
    if (v.includes(' ') && v.length < 4096) for (const w of v.split(/\s+/)) if (w) out.add(hashOf(w));
  } else if (Array.isArray(v)) for (const x of v) argHashes(x, out, depth + 1);
  else if (v && typeof v === 'object') for (const x of Object.values(v)) argHashes(x, out, depth + 1);
  return out;
}

function modeOfFlags(flags: number): DataAccessFields['access_mode'] {
  const acc = flags & O_ACCMODE;
  return acc === 0 ? 'read' : acc === 1 ? 'write' : 'read_write';
}

function safeJson(v: unknown): string {
  try {
    return JSON.stringify(v) ?? '';
  } catch {
    return '';
  }
}

function sanitizeClass(s: string): string {
  return s.toLowerCase().replace(/[^a-z0-9_.-]/g, '_').slice(0, 64);
}

function redactUri(u: string, cls: Classifier): string {
  const m = /^([a-z][a-z0-9+.-]*):\/\/([^/?#]*)([^?#]*)(\?[^#]*)?/i.exec(u);
  if (!m) return u.startsWith('/') ? fileUri(u, cls) : `mcp:${sha256Hex(u).slice(0, 16)}`;
  if (m[1]!.toLowerCase() === 'file') {
    const p = decodeUriComponentSafe(m[3] ?? '');
    return p.malformed ? fileUri(p.value, cls) + MALFORMED_URI_MARK : fileUri(p.value, cls);
  }
  const scheme = m[1]!.toLowerCase();
  const r = httpResourceUri('https', m[2] ?? '', `${m[3] || '/'}${m[4] ?? ''}`, cls);
  return r.uri.replace(/^https:/, `${scheme}:`);
}

/** Rows when the response shows them: a top-level JSON array, or a `data`/`items`/`rows`/`results`/`records` array. */
function rowCount(res: HttpMessage): number | null {
  if (res.truncated || res.body.length === 0 || res.body.length > 8 << 20) return null;
  const ct = res.headers.find(([n]) => n === 'content-type')?.[1] ?? '';
  if (ct && !ct.includes('json')) return null;
  try {
    const v = JSON.parse(res.body.toString('utf8')) as unknown;
    if (Array.isArray(v)) return v.length;
    if (v && typeof v === 'object') {
      for (const k of ['data', 'items', 'rows', 'results', 'records', 'Contents']) {
        const a = (v as Record<string, unknown>)[k];
        if (Array.isArray(a)) return a.length;
      }
    }
  } catch {
    return null;
  }
  return null;
}
