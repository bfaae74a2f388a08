import type { ParamSchema, Reasoning } from '../contracts/agent-fields.js';
import type { Proc, Session } from './process-table.js';
import { argHashes } from './match-hashes.js';

/**
 * A tool the model asked for (or an MCP tools/call seen on the wire), open
 * from the request until its result is carried back. Kernel actions of the
 * session that fall inside it (a file read, an exec, an HTTP call) are
 * attributed to it: argument-hash matches first, the latest start next.
 */
export interface ToolWindow {
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

export type NewWindow = Omit<ToolWindow, 'argHashes' | 'endNs' | 'targets' | 'emitted' | 'answered' | 'transport'> & { args: unknown; transport?: ToolWindow['transport'] };

const MAX_WINDOWS_PER_SESSION = 256;
const MAX_RESULTS_REMEMBERED = 4096;

/** Tool windows per session. `settle(w)` is called for a window that ends without a result (bounded, expired, session closed) and was acted on. */
export class ToolWindows {
  private readonly windows = new Map<string, ToolWindow[]>();
  private readonly seenResults = new Map<string, Set<string>>();

  constructor(
    private readonly toolWindowMs: number,
    private readonly settle: (w: ToolWindow) => void,
  ) {}

  of(s: Session): ToolWindow[] {
    let l = this.windows.get(s.id);
    if (!l) this.windows.set(s.id, (l = []));
    return l;
  }

  /** Fingerprints of tool results already matched: a chat request re-sends the whole history. */
  resultsSeen(s: Session): Set<string> {
    let r = this.seenResults.get(s.id);
    if (!r) this.seenResults.set(s.id, (r = new Set()));
    if (r.size > MAX_RESULTS_REMEMBERED) r.clear();
    return r;
  }

  open(o: NewWindow): ToolWindow {
    const l = this.of(o.session);
    // Bounded per session: the oldest windows are settled first (emitted if acted on, else dropped).
    while (l.length >= MAX_WINDOWS_PER_SESSION) {
      const w = l.shift()!;
      if (!w.emitted && w.targets.size > 0) this.settle(w);
      w.emitted = true;
    }
    const { args, ...rest } = o;
    const w: ToolWindow = { ...rest, transport: o.transport ?? 'local', argHashes: argHashes(args), endNs: undefined, targets: new Set(), emitted: false, answered: false };
    l.push(w);
    return w;
  }

  /** A pending model tool request matching by call id, then name (MCP tool names may carry a client prefix), oldest first. */
  claim(session: Session, callId: string | undefined, name: string | undefined, why: 'result' | 'mcp'): ToolWindow | undefined {
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
  markAction(session: Session, tNs: bigint, target: string, hashes: string[]): void {
    const w = this.find(session, tNs, hashes, true);
    if (!w) return;
    const open = (this.windows.get(session.id) ?? []).filter((x) => !x.emitted && x.transport === 'local');
    if (open.length === 1 || hashes.some((h) => w.argHashes.has(h))) w.targets.add(target);
  }

  /** The tool invocation an action at `tNs` belongs to: a window containing it, argument-hash matches first, latest start next. */
  find(session: Session, tNs: bigint, hashes: string[], localOnly = false): ToolWindow | undefined {
    const l = this.windows.get(session.id);
    if (!l) return undefined;
    const maxOpen = BigInt(this.toolWindowMs) * 1_000_000n;
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

  /** Windows with an observed action but no result yet are settled; requests never acted on leave nothing. */
  closeSession(session: Session, tNs: bigint | undefined): void {
    for (const w of this.windows.get(session.id) ?? []) {
      if (w.emitted) continue;
      if (w.targets.size > 0) {
        w.endNs ??= tNs;
        this.settle(w);
      }
      w.emitted = true;
    }
    this.windows.delete(session.id);
  }

  closeAll(): void {
    for (const l of [...this.windows.values()]) if (l[0]) this.closeSession(l[0].session, undefined);
  }

  /** Windows open longer than the tool window, as of the newest kernel time seen. */
  expire(lastKtime: bigint): void {
    const maxOpen = BigInt(this.toolWindowMs) * 1_000_000n;
    for (const [sid, l] of this.windows) {
      for (const w of l) {
        if (w.emitted || w.endNs !== undefined || lastKtime - w.startNs <= maxOpen) continue;
        if (w.targets.size > 0) this.settle(w);
        w.emitted = true;
      }
      const keep = l.filter((w) => !w.emitted || (w.endNs !== undefined && lastKtime - w.endNs <= maxOpen));
      if (keep.length) this.windows.set(sid, keep);
      else this.windows.delete(sid);
    }
  }

  /** Forget sessions the process table no longer holds. */
  gc(live: ReadonlyMap<string, unknown>): void {
    for (const m of [this.windows, this.seenResults] as Array<Map<string, unknown>>) for (const k of m.keys()) if (!live.has(k)) m.delete(k);
  }
}
