import picomatch from 'picomatch';
import { Classifier } from '../classify/classifier.js';
import { DEFAULT_IGNORE_GLOBS, DEFAULT_IGNORE_PREFIXES } from '../config/classify.js';
import type { Cause, CommonFields, DataAccessFields, ErrorFields, Reasoning } from '../contracts/agent-fields.js';
import { EventTypes, newEventId, nowNs, type CloudEvent } from '../contracts/envelope.js';
import type { Exchange } from '../contracts/exchange.js';
import { ConnectionTracker } from '../correlate/connections.js';
import { FdTable } from '../correlate/open-files.js';
import { OncePerSession } from '../correlate/once-per-session.js';
import { ProcessTable, readLiveProcess, type Proc, type Session } from '../correlate/process-table.js';
import { PendingErrors } from '../correlate/retries.js';
import { ToolWindows, type ToolWindow } from '../correlate/tool-windows.js';
import { Turns } from '../correlate/turns.js';
import { HostWorkloadResolver, type WorkloadIdentity, type WorkloadResolver } from '../correlate/workload-resolver.js';
import { childLogger } from '../observability/logger.js';
import { Counter, countStageError, registry } from '../observability/metrics.js';
import { buildAgentEvent } from './agent-event.js';
import { AccessAggregator } from './access-aggregator.js';
import { HoldbackQueue } from './holdback-queue.js';
import { processIdentity } from './identity-assertion.js';

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
  /** Merge repeated file accesses of one resource within this window (access-aggregator.ts); 0 = off. */
  aggregateWindowMs?: number;
}

export interface InternalError {
  stage: string;
  reason: string;
}

export type Status = CommonFields['outcome']['status'];
type EventType = (typeof EventTypes)[keyof typeof EventTypes];

const IGNORE_CACHE_ENTRIES = 8192;

const suppressed = new Counter({
  name: 'agentrail_data_access_suppressed_total',
  help: 'File accesses not reported as data.access (runtime, loader and module files), by rule kind',
  labelNames: ['reason'] as const,
  registers: [registry],
});

/**
 * What the per-type builders share: the correlate trackers (processes, open
 * files, connections, tool windows, turns, pending errors), the classifier,
 * the hold-back queue, and `emit`, which adds the common fields (workload,
 * session, invocation, process) and hands the event on.
 */
export class BuildContext {
  readonly procs = new ProcessTable();
  readonly fds = new FdTable();
  /** The egress floor: connections named and measured from the kernel alone. */
  readonly conns = new ConnectionTracker();
  readonly windows: ToolWindows;
  readonly turns = new Turns();
  readonly retries = new PendingErrors();
  readonly identities = new OncePerSession();
  readonly mcpServers = new Map<string, { name: string; version: string }>();
  readonly queue: HoldbackQueue;
  readonly aggregator: AccessAggregator;
  readonly nowMs: () => number;
  readonly cls: Classifier;
  readonly holdbackMs: number;
  readonly retryWindowMs: number;
  readonly readProc: boolean;
  readonly grantedScopes: Record<string, string[]> | undefined;
  lastKtime = 0n;
  readonly eventCbs: Array<(ce: CloudEvent) => void> = [];
  readonly internalCbs: Array<(e: InternalError) => void> = [];
  private readonly source: string;
  private readonly resolver: WorkloadResolver;
  /** The fallback when a configured resolver knows nothing of a process. */
  private readonly hostResolver = new HostWorkloadResolver();
  private readonly toWall: (k: bigint) => bigint;
  private readonly ignorePrefixes: string[];
  private readonly ignoreGlob: (path: string) => boolean;
  private readonly ignoreCache = new Map<string, '' | 'path_prefix' | 'path_glob'>();
  private readonly log = childLogger('event');

  constructor(opts: EventBuilderOptions, settleWindow: (w: ToolWindow) => void, onTick: () => void) {
    this.source = opts.source;
    this.cls = opts.classifier ?? new Classifier();
    this.resolver = opts.resolver ?? new HostWorkloadResolver();
    this.grantedScopes = opts.grantedScopes;
    this.holdbackMs = opts.holdbackMs ?? 1000;
    this.retryWindowMs = opts.retryWindowMs ?? 3000;
    this.readProc = opts.readProc ?? false;
    this.ignorePrefixes = opts.ignorePathPrefixes ?? [...DEFAULT_IGNORE_PREFIXES];
    this.ignoreGlob = picomatch(opts.ignorePathGlobs ?? [...DEFAULT_IGNORE_GLOBS], { dot: true });
    const offset = nowNs() - process.hrtime.bigint();
    this.toWall = opts.toWallNs ?? ((k) => k + offset);
    this.windows = new ToolWindows(opts.toolWindowMs ?? 60_000, settleWindow);
    this.nowMs = opts.nowMs ?? Date.now;
    this.queue = new HoldbackQueue(this.nowMs, Math.min(this.holdbackMs, this.retryWindowMs) / 2, (f) => this.safe(f), onTick);
    this.aggregator = new AccessAggregator(opts.aggregateWindowMs ?? 0, this.toWall, (f) => this.safe(f));
  }

  /** A data access leaves after the hold-back, attributed to the tool window that contains it then. */
  holdDataAccess(proc: Proc, tNs: bigint, hashes: string[], id: string, f: DataAccessFields, status: Status, duration: number | null = null): void {
    const invocation = this.turns.invocationOf(proc.session.id);
    this.queue.hold(this.holdbackMs, () => {
      const w = this.windows.find(proc.session, tNs, hashes);
      if (w) w.targets.add(f.resource_type === 'url' || f.resource_type === 'object' ? 'http' : f.access_mode === 'execute' ? 'process' : 'file');
      f.triggering_event_id = w?.eventId ?? null;
      const cause: Cause = w ? { type: 'tool_invocation', session_id: this.causeSession(proc.session), event_id: w.eventId } : { type: 'process', session_id: this.causeSession(proc.session) };
      const emit = () => this.emit(EventTypes.dataAccess, proc, tNs, id, cause, w?.reasoning ?? null, { status, duration_ms: duration }, f, w?.invocationId ?? invocation);
      if (!this.aggregator.offer({ sessionId: proc.session.id, pid: proc.pid, windowId: w?.eventId ?? null, status, tNs, nowMs: this.nowMs(), fields: f, emit })) emit();
    });
  }

  /** An error leaves after the retry window, marked retried when the same operation (`key`) came again. */
  holdError(proc: Proc, tNs: bigint, key: string, f: ErrorFields): void {
    const pe = this.retries.add(proc.session.id, key, f);
    const invocation = this.turns.invocationOf(proc.session.id);
    this.queue.hold(this.retryWindowMs, () => {
      this.retries.settle(pe);
      const cause: Cause = f.originating_event_id
        ? { type: 'process', session_id: this.causeSession(proc.session), event_id: f.originating_event_id }
        : { type: 'process', session_id: this.causeSession(proc.session) };
      this.emit(EventTypes.error, proc, tNs, undefined, cause, null, { status: 'FAILURE', duration_ms: null }, f, invocation);
    });
  }

  resolveRetry(session: Session, key: string, retryEventId: string | null): void {
    this.retries.resolve(session.id, key, retryEventId);
  }

  emit(type: EventType, proc: Proc, tNs: bigint, id: string | undefined, cause: Cause, reasoning: Reasoning | null, outcome: CommonFields['outcome'], fields: object, invocationId?: string | null): void {
    const w = this.workload(proc);
    const session = proc.session;
    const inv = invocationId !== undefined ? invocationId : this.turns.invocationOf(session.id);
    const ce = buildAgentEvent(
      {
        type,
        source: this.source,
        timeNs: this.toWall(tNs),
        ...(id ? { id } : {}),
        common: {
          trace_id: session.traceId,
          workload_id: w.workload_id,
          agent_session_id: session.id,
          // Keys in RFC 8785 order: the sealer's canonicalizer then copies nothing here (src/seal/canonical.ts).
          agent: { id: w.workload_id, invocation_id: inv, session_id: session.id },
          cause,
          reasoning,
          outcome,
          process: { comm: proc.comm ?? null, exe: proc.exe ?? null, pid: proc.pid, ppid: proc.ppid ?? null, uid: proc.uid ?? null },
        },
      },
      fields,
    );
    for (const cb of this.eventCbs) cb(ce as unknown as CloudEvent);
  }

  workload(proc: Proc): WorkloadIdentity {
    const s = proc.session;
    const hint = { comm: s.rootComm ?? proc.comm, exe: s.rootExe ?? proc.exe, uid: proc.uid };
    return this.resolver.resolve(proc.pid, proc.cgroupId, hint) ?? this.hostResolver.resolve(proc.pid, proc.cgroupId, hint);
  }

  /** The process of a record; one first seen by a record other than exec/fork started before the sensor (read /proc when enabled). */
  proc(pid: number, cgroupId: bigint, tNs: bigint): Proc {
    const known = this.procs.get(pid);
    if (known) return known;
    const live = this.readProc ? readLiveProcess(pid) : undefined;
    const { proc } = this.procs.ensure(pid, cgroupId, tNs, undefined, live);
    processIdentity(this, proc, tNs);
    return proc;
  }

  /** Forget per-session state of sessions the process table no longer holds. */
  gc(): void {
    const live = this.procs.sessions;
    this.windows.gc(live);
    this.turns.gc(live);
    this.identities.gc(live);
  }

  causeSession(s: Session): string {
    return s.upstreamTraceId ? `otel:${s.upstreamTraceId}` : s.id;
  }

  outcome(x: Exchange, failed: boolean): CommonFields['outcome'] {
    return { status: failed ? 'FAILURE' : x.incomplete ? 'UNKNOWN' : 'SUCCESS', duration_ms: this.durationMs(x) };
  }

  durationMs(x: Exchange): number {
    return Math.max(0, Number(x.endNs - x.startNs) / 1e6);
  }

  /** A new event id whose time part is the event's wall-clock time. */
  newId(kNs: bigint): string {
    return newEventId(Number(this.toWall(kNs) / 1_000_000n));
  }

  /** Runtime, loader and module files: not data accesses (counted by rule kind). */
  ignored(path: string): boolean {
    let reason = this.ignoreCache.get(path);
    if (reason === undefined) {
      reason = this.ignorePrefixes.some((p) => path.startsWith(p)) ? 'path_prefix' : this.ignoreGlob(path) ? 'path_glob' : '';
      // The same runtime files are opened by every process: remember the verdict (bounded).
      if (this.ignoreCache.size >= IGNORE_CACHE_ENTRIES) this.ignoreCache.clear();
      this.ignoreCache.set(path, reason);
    }
    if (!reason) return false;
    suppressed.inc({ reason });
    return true;
  }

  safe(f: () => void): void {
    try {
      f();
    } catch (e) {
      this.internal('event', 'build_failed', e);
    }
  }

  internal(stage: string, reason: string, e?: unknown): void {
    // Only the reason and the error's class name: messages may quote captured input.
    countStageError(stage, reason);
    this.log.warn({ stage, reason, errClass: e instanceof Error ? e.name : undefined }, 'bad input counted');
    for (const cb of this.internalCbs) cb({ stage, reason });
  }
}
