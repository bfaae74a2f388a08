/**
 * Typed raw events: one per ABI op (bpf/include/agentrail_abi.h), produced by
 * the decode stage from record bytes. Every source (native, bpftrace, replay)
 * yields record bytes in the same ABI, so every source decodes the same way.
 * 64-bit kernel values are bigint.
 */
export interface RawHeader {
  op: number;
  version: number;
  ktimeNs: bigint;
  pid: number;
  tid: number;
  cgroupId: bigint;
}

export interface ProcExec extends RawHeader { kind: 'proc.exec'; ppid: number; uid: number; gid: number; argc: number; flags: number; comm: string; filename: string; args: string[] }
export interface ProcFork extends RawHeader { kind: 'proc.fork'; childPid: number; childTid: number; isThread: boolean }
export interface ProcExit extends RawHeader { kind: 'proc.exit'; ppid: number; exitCode: number; isThread: boolean }
export interface ProcMmapExec extends RawHeader { kind: 'proc.mmap_exec'; dev: bigint; ino: bigint; fd: number; prot: number }
export interface FileOpen extends RawHeader { kind: 'file.open'; dirfd: number; ret: number; flags: number; mode: number; syscall: number; path: string; pathTruncated: boolean }
export interface FdIo extends RawHeader { kind: 'fd.io'; fd: number; fdKind: number; readBytes: bigint; writeBytes: bigint; readCalls: number; writeCalls: number; reason: number; firstNs: bigint; lastNs: bigint; ino: bigint }
export interface FileOp extends RawHeader { kind: 'file.op'; op_kind: number; ret: number; fd: number; mode: number; length: bigint; path: string; path2: string }
export interface NetConn extends RawHeader { kind: 'net.connect' | 'net.accept'; fd: number; ret: number; family: number; port: number; sockType: number; addr: string }
/** First bytes written on a connected stream socket (peekKind 1) or a DNS answer read (2): the egress floor. */
export interface NetPeek extends RawHeader { kind: 'net.peek'; fd: number; peekKind: number; callLen: number; data: Buffer }
/** `data` of tls.data and pipe.data is the record's own copy (the decoders copy it out of the batch): later stages keep it without copying. */
export interface TlsData extends RawHeader { kind: 'tls.data'; sslPtr: bigint; direction: 0 | 1; callLen: number; chunkOffset: number; fd: number; flags: number; callSeq: bigint; data: Buffer }
export interface TlsPair extends RawHeader { kind: 'tls.pair'; sslPtr: bigint; fd: number; how: number }
export interface PipeData extends RawHeader { kind: 'pipe.data'; pipeIno: bigint; fd: number; direction: 0 | 1; callLen: number; chunkOffset: number; flags: number; data: Buffer }

/** bpf/enforce.bpf.c sent SIGKILL to the task for a denied action (docs/policy.md "Kernel enforcement"). */
export interface PolicyEnforce extends RawHeader { kind: 'policy.enforce'; what: 'connect' | 'send' | 'exec' | 'open'; rule: number; signalRet: number; family: number; port: number; addr: string; syscall: number; matched: number; ino: bigint; path: string }

export type RawEvent = ProcExec | ProcFork | ProcExit | ProcMmapExec | FileOpen | FdIo | FileOp | NetConn | NetPeek | TlsData | TlsPair | PipeData | PolicyEnforce;
