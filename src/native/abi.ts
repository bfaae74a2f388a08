/**
 * TypeScript mirror of bpf/include/agentrail_abi.h (ABI version 1).
 *
 * Everything the decode stage and the encoder need: op numbers, constants,
 * flags, enums, drop reasons, and for every struct its size and the byte
 * offset of each field. The layout test (test/native/abi-layout.test.ts)
 * compares `ABI_LAYOUT` with what the addon reports, so a drift between the C
 * header and this file fails the tests.
 *
 * Layout report shape (agreed with the addon's `Sensor.layout()`):
 *
 *   { [structName]: { size: number, fields: { [fieldName]: offset } } }
 *
 * - structName is the C struct name without `struct` (`ar_hdr`, `ar_tls_data`, …);
 * - fieldName is the C field name (`ktime_ns`, `child_pid`, …); the embedded
 *   header of every record struct appears as field `hdr` at offset 0, and the
 *   header's own fields are reported under `ar_hdr`;
 * - padding fields (`_pad`) are included, so the size arithmetic is checked too.
 *
 * All integers are little-endian (the host's; BPF targets are LE here).
 */

export const AR_ABI_VERSION = 1;

export const AR_PATH_MAX = 256;
export const AR_ARGS_MAX = 512;
export const AR_COMM_LEN = 16;
export const AR_PAYLOAD_CHUNK = 4096;
export const AR_TLS_CAP_DEFAULT = 2 * 1024 * 1024;
export const AR_TLS_CAP_MAX = 16 * 1024 * 1024;
export const AR_PEEK_MAX = 2048;
/** enum ar_peek_kind */
export const PeekKind = { FIRST_WRITE: 1, DNS_ANSWER: 2 } as const;

/** enum ar_op — op numbers are never reused. */
export const Op = {
  PROC_EXEC: 1,
  PROC_FORK: 2,
  PROC_EXIT: 3,
  PROC_MMAP_EXEC: 4,
  FILE_OPEN: 10,
  FD_IO: 11,
  FILE_OP: 12,
  NET_CONNECT: 20,
  NET_ACCEPT: 21,
  NET_PEEK: 22,
  TLS_DATA: 30,
  TLS_PAIR: 31,
  PIPE_DATA: 40,
  POLICY_ENFORCE: 50,
} as const;
export type OpNumber = (typeof Op)[keyof typeof Op];

/** Op number → short name used in metric labels and in decode kinds. */
export const OP_NAMES: Readonly<Record<number, string>> = Object.freeze({
  [Op.PROC_EXEC]: 'proc.exec',
  [Op.PROC_FORK]: 'proc.fork',
  [Op.PROC_EXIT]: 'proc.exit',
  [Op.PROC_MMAP_EXEC]: 'proc.mmap_exec',
  [Op.FILE_OPEN]: 'file.open',
  [Op.FD_IO]: 'fd.io',
  [Op.FILE_OP]: 'file.op',
  [Op.NET_CONNECT]: 'net.connect',
  [Op.NET_ACCEPT]: 'net.accept',
  [Op.NET_PEEK]: 'net.peek',
  [Op.TLS_DATA]: 'tls.data',
  [Op.TLS_PAIR]: 'tls.pair',
  [Op.PIPE_DATA]: 'pipe.data',
  [Op.POLICY_ENFORCE]: 'policy.enforce',
});

/** enum ar_fd_kind */
export const FdKind = { UNKNOWN: 0, FILE: 1, SOCKET: 2, PIPE: 3, OTHER: 4 } as const;
/** enum ar_flush_reason */
export const FlushReason = { CLOSE: 1, EXIT: 2, PERIODIC: 3 } as const;
/** enum ar_file_op_kind */
export const FileOpKind = { UNLINK: 1, RENAME: 2, TRUNCATE: 3, CHMOD: 4, RMDIR: 5, MKDIR: 6 } as const;
/** enum ar_direction */
export const Direction = { EGRESS: 0, INGRESS: 1 } as const;
/** enum ar_open_syscall */
export const OpenSyscall = { OPEN: 1, OPENAT: 2, OPENAT2: 3 } as const;
/** AR_F_* flags */
export const Flag = { TRUNCATED: 1 << 0, ARGS_TRUNCATED: 1 << 1, PATH_TRUNCATED: 1 << 2 } as const;
/** enum ar_drop_reason — index into the per-CPU `<family>_drops` arrays. */
export const DropReason = { RINGBUF_FULL: 0, PAYLOAD_TRUNCATED: 1, MAP_FULL: 2, READ_FAILED: 3, TLS_RECORD_UNPARSED: 4 } as const;
export const AR_DROP_REASON_MAX = 8;
export const DROP_REASON_NAMES: readonly string[] = ['ringbuf_full', 'payload_truncated', 'map_full', 'read_failed', 'tls_record_unparsed'];

/** enum ar_enforce_what (bpf/enforce.bpf.c) */
export const EnforceWhat = { CONNECT: 1, EXEC: 2, OPEN: 3, SEND: 4 } as const;
/** enum ar_enforce_match: how the kernel matched. */
export const EnforceMatch = { ADDR: 0, PATH: 1, INODE: 2 } as const;
/** AR_ENF_PATH_MAX: bytes of an enforcement LPM path key (the kernel's LPM_DATA_SIZE_MAX). */
export const AR_ENF_PATH_MAX = 256;

/** TLS pairing `how` values of struct ar_tls_pair. */
export const PairHow = { INSIDE_SSL_CALL: 1, NEXT_SOCKET_WRITE: 2 } as const;

export interface StructLayout {
  size: number;
  fields: Record<string, number>;
}
export type AbiLayout = Record<string, StructLayout>;

const HDR = 32;

/** Sizes and field offsets of every struct of the header. */
export const ABI_LAYOUT: Readonly<AbiLayout> = Object.freeze({
  ar_hdr: { size: 32, fields: { op: 0, version: 2, size: 4, ktime_ns: 8, pid: 16, tid: 20, cgroup_id: 24 } },
  ar_proc_exec: {
    size: HDR + 24 + AR_COMM_LEN + AR_PATH_MAX + AR_ARGS_MAX,
    fields: { hdr: 0, ppid: 32, uid: 36, gid: 40, argc: 44, filename_len: 48, args_len: 50, flags: 52, comm: 56, filename: 72, args: 72 + AR_PATH_MAX },
  },
  ar_proc_fork: { size: 48, fields: { hdr: 0, child_pid: 32, child_tid: 36, is_thread: 40, _pad: 44 } },
  ar_proc_exit: { size: 48, fields: { hdr: 0, ppid: 32, exit_code: 36, is_thread: 40, _pad: 44 } },
  ar_proc_mmap_exec: { size: 56, fields: { hdr: 0, dev: 32, ino: 40, fd: 48, prot: 52 } },
  ar_file_open: {
    size: 56 + AR_PATH_MAX,
    fields: { hdr: 0, dirfd: 32, ret: 36, flags: 40, mode: 44, path_len: 48, syscall: 50, _pad: 52, path: 56 },
  },
  ar_fd_io: {
    size: 96,
    fields: { hdr: 0, fd: 32, fd_kind: 36, read_bytes: 40, write_bytes: 48, read_calls: 56, write_calls: 60, reason: 64, _pad: 68, first_ns: 72, last_ns: 80, ino: 88 },
  },
  ar_file_op: {
    size: 64 + 2 * AR_PATH_MAX,
    fields: { hdr: 0, kind: 32, ret: 36, fd: 40, mode: 44, length: 48, path_len: 56, path2_len: 58, _pad: 60, path: 64, path2: 64 + AR_PATH_MAX },
  },
  ar_net_conn: { size: 64, fields: { hdr: 0, fd: 32, ret: 36, family: 40, port: 42, sock_type: 44, _pad: 46, addr: 48 } },
  ar_net_peek: { size: 48, fields: { hdr: 0, fd: 32, kind: 36, call_len: 40, data_len: 44 } },
  ar_tls_data: {
    size: 72,
    fields: { hdr: 0, ssl_ptr: 32, direction: 40, call_len: 44, chunk_offset: 48, chunk_len: 52, fd: 56, flags: 60, call_seq: 64 },
  },
  ar_tls_pair: { size: 48, fields: { hdr: 0, ssl_ptr: 32, fd: 40, how: 44 } },
  ar_pipe_data: {
    size: 64,
    fields: { hdr: 0, pipe_ino: 32, fd: 40, direction: 44, call_len: 48, chunk_offset: 52, chunk_len: 56, flags: 60 },
  },
  ar_config: { size: 24, fields: { trace_all: 0, tls_cap: 4, pipe_cap: 8, self_pid: 12, flush_interval_ns: 16 } },
  ar_enforce: {
    size: 80 + AR_PATH_MAX,
    fields: { hdr: 0, what: 32, rule: 36, signal_ret: 40, family: 44, port: 46, addr: 48, path_len: 64, syscall: 66, matched: 68, ino: 72, path: 80 },
  },
  ar_enf_inode_key: { size: 24, fields: { dev: 0, ino: 8, what: 16, _pad: 20 } },
  ar_enf_path_key: { size: 4 + AR_ENF_PATH_MAX, fields: { prefixlen: 0, path: 4 } },
  ar_enf_addr_key: { size: 24, fields: { prefixlen: 0, family: 4, port: 5, addr: 7, _pad: 23 } },
  ar_enf_config: { size: 16, fields: { connect_on: 0, connect_rule: 4, exec_on: 8, open_on: 12 } },
});

/** Struct carried by each op (NET_CONNECT and NET_ACCEPT share ar_net_conn). */
export const OP_STRUCT: Readonly<Record<number, string>> = Object.freeze({
  [Op.PROC_EXEC]: 'ar_proc_exec',
  [Op.PROC_FORK]: 'ar_proc_fork',
  [Op.PROC_EXIT]: 'ar_proc_exit',
  [Op.PROC_MMAP_EXEC]: 'ar_proc_mmap_exec',
  [Op.FILE_OPEN]: 'ar_file_open',
  [Op.FD_IO]: 'ar_fd_io',
  [Op.FILE_OP]: 'ar_file_op',
  [Op.NET_CONNECT]: 'ar_net_conn',
  [Op.NET_ACCEPT]: 'ar_net_conn',
  [Op.NET_PEEK]: 'ar_net_peek',
  [Op.TLS_DATA]: 'ar_tls_data',
  [Op.TLS_PAIR]: 'ar_tls_pair',
  [Op.PIPE_DATA]: 'ar_pipe_data',
  [Op.POLICY_ENFORCE]: 'ar_enforce',
});

/** Offset of a field; throws on a typo at module load (used by decoders' constants). */
export function off(struct: string, field: string): number {
  const o = ABI_LAYOUT[struct]?.fields[field];
  if (o === undefined) throw new Error(`abi: no field ${struct}.${field}`);
  return o;
}

export function sizeOf(struct: string): number {
  const s = ABI_LAYOUT[struct]?.size;
  if (s === undefined) throw new Error(`abi: no struct ${struct}`);
  return s;
}

/** Records are padded to 8 bytes. */
export function align8(n: number): number {
  return (n + 7) & ~7;
}
