import type { PipeFlow, PipeSide, Exchange } from '../contracts/exchange.js';
import type { FdIo } from '../contracts/raw-event.js';
import type { Proc } from '../correlate/process-table.js';
import { countDrop } from '../observability/metrics.js';
import { contentHash, SHORT_CONTENT_BYTES } from '../redact/hash.js';
import type { BuildContext } from './build-context.js';

/**
 * A pipe or unix stream socket between traced processes that carried no JSON-RPC (a shell tool's
 * stdin/stdout, a JSON-lines tool protocol) → one data.access of the agent's end: `pipe:<inode>`,
 * the bytes it wrote (`request_hash`, what the tool read) and read (`response_hash` = `content_hash`,
 * what the tool wrote), hashed like every content hash (keyed under 64 bytes). The agent's end is
 * the process that is an ancestor of the other end's (the agent runs its tools); when none is,
 * the first process that wrote. docs/events.md, data.access.
 */
export function pipeAccess(ctx: BuildContext, x: Exchange, sides: PipeSide[]): void {
  // One traced process on the stream: a socket end is a conversation with its peer (Node gives a
  // child's stdio over a socketpair, each end its own inode); a pipe only one process touched is its
  // own (libuv's signal pipe) or its peer is untraced: counted, not reported.
  // (Socket ends: marked on the stream by the stream stage; the set below catches an fd.io that came before the stream.)
  if (sides.length < 2 && !x.stream.socket && !socketInos(ctx).has(x.stream.key)) {
    countDrop('event', 'pipe_one_traced_end');
    return;
  }
  // A tool's own stdio end (fd 0-2) whose parent is traced: the parent's end reports the conversation.
  if (sides.length === 1 && x.stream.fd >= 0 && x.stream.fd <= 2) {
    const ppid = ctx.procs.get(sides[0]!.pid)?.ppid;
    if (ppid !== undefined && ctx.procs.get(ppid)) {
      countDrop('event', 'pipe_child_stdio');
      return;
    }
  }
  const byPid = new Map(sides.map((s) => [s.pid, s]));
  const procs = sides.map((s) => ctx.proc(s.pid, x.stream.cgroupId, x.startNs));
  const agent = procs.find((p) => procs.some((o) => o !== p && isAncestor(ctx, p.pid, o))) ?? procs.find((p) => byPid.get(p.pid)!.written.bytes > 0) ?? procs[0]!;
  const mine = byPid.get(agent.pid)!;
  const peers = sides.filter((s) => s !== mine);
  // What the agent wrote is what its peers read; when its own capture was cut, a peer's read of the same bytes may be whole.
  const wrote = bestOf(mine.written, peers.map((p) => p.read));
  const got = bestOf(mine.read, peers.map((p) => p.written));
  const id = ctx.newId(x.startNs);
  const mode = wrote.bytes && got.bytes ? 'read_write' : wrote.bytes ? 'write' : 'read';
  const response = hashOf(got);
  ctx.holdDataAccess(agent, x.startNs, [], id, {
    resource_uri: x.stream.key,
    access_mode: mode,
    row_count: null,
    byte_count: wrote.bytes + got.bytes,
    sensitivity_tags_resolved: [],
    triggering_event_id: null,
    resource_type: 'pipe',
    bytes_read: got.bytes,
    bytes_written: wrote.bytes,
    content_hash: response,
    request_hash: hashOf(wrote),
    response_hash: response,
  }, 'SUCCESS', ctx.durationMs(x));
}

/** Stream keys (`pipe:<inode>`) of unix socket ends, learnt from the kernel's per-fd records (fd.io carries the fd kind). */
const sockets = new WeakMap<BuildContext, Set<string>>();
const AR_FD_SOCKET = 2;
const MAX_SOCKETS = 4096;

function socketInos(ctx: BuildContext): Set<string> {
  let s = sockets.get(ctx);
  if (!s) sockets.set(ctx, (s = new Set()));
  return s;
}

export function notePipeFdKind(ctx: BuildContext, ev: FdIo): void {
  if (ev.fdKind !== AR_FD_SOCKET || ev.ino === 0n) return;
  const s = socketInos(ctx);
  s.add(`pipe:${ev.ino}`);
  if (s.size > MAX_SOCKETS) s.delete(s.values().next().value as string);
}

function isAncestor(ctx: BuildContext, pid: number, of: Proc): boolean {
  let p: Proc | undefined = of;
  for (let i = 0; p && i < 64; i++) {
    if (p.ppid === pid) return true;
    p = p.ppid !== undefined ? ctx.procs.get(p.ppid) : undefined;
  }
  return false;
}

/** The whole copy of a direction when one end's capture was cut and another's was not. */
function bestOf(own: PipeFlow, mirrors: PipeFlow[]): PipeFlow {
  if (own.complete) return own;
  return mirrors.find((m) => m.complete && m.bytes === own.bytes) ?? own;
}

function hashOf(f: PipeFlow): string | null {
  if (f.bytes === 0 || !f.complete) return null;
  // Short content is whole in `head`: hashed by the one rule; longer content by the running digest.
  return f.bytes < SHORT_CONTENT_BYTES ? contentHash(f.head.subarray(0, f.bytes)) : `sha256:${f.sha256}`;
}
