/* SPDX-License-Identifier: Apache-2.0 */
/*
 * agentrail kernel <-> user ABI. The one shared header (DESIGN.md §2).
 *
 * Rules:
 *  - every record starts with struct ar_hdr; hdr.size is the total record
 *    length in bytes (header + body + captured payload), always a multiple of 8;
 *  - fixed-width fields, explicit padding, little-endian (the host's);
 *  - op numbers are never reused; a changed layout bumps AR_ABI_VERSION and
 *    the record's version field;
 *  - the TypeScript mirror (src/native/abi.ts) is checked against the sizes
 *    and offsets the addon reports (ar_layout in native/src/abi_layout.cc).
 *
 * Usable from BPF C (vmlinux.h types) and from user space C/C++ (linux/types.h).
 */
#ifndef AGENTRAIL_ABI_H
#define AGENTRAIL_ABI_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define AR_ABI_VERSION 1

#define AR_PATH_MAX 256      /* bytes of a path kept, NUL included */
#define AR_ARGS_MAX 512      /* bytes of argv kept (NUL-separated) */
#define AR_COMM_LEN 16
#define AR_PAYLOAD_CHUNK 4096 /* bytes of TLS/pipe payload per record */
#define AR_TLS_CAP_DEFAULT (2u << 20) /* bytes captured per SSL call by default: whole model calls */
#define AR_TLS_CAP_MAX (16u << 20)     /* largest ar_config.tls_cap the kernel honours */

enum ar_op {
	AR_OP_PROC_EXEC = 1,
	AR_OP_PROC_FORK = 2,
	AR_OP_PROC_EXIT = 3,
	AR_OP_PROC_MMAP_EXEC = 4, /* a traced process mapped a file executable */

	AR_OP_FILE_OPEN = 10,
	AR_OP_FD_IO = 11,   /* aggregated read/write counters of one fd */
	AR_OP_FILE_OP = 12, /* unlink, rename, truncate, chmod */

	AR_OP_NET_CONNECT = 20,
	AR_OP_NET_ACCEPT = 21,
	AR_OP_NET_PEEK = 22,  /* first bytes written on a connected socket, or a DNS answer */

	AR_OP_TLS_DATA = 30,
	AR_OP_TLS_PAIR = 31, /* an SSL* was paired with a socket fd */

	AR_OP_PIPE_DATA = 40,

	AR_OP_POLICY_ENFORCE = 50, /* enforce.bpf.c killed a task for a denied action */
};

struct ar_hdr {
	__u16 op;
	__u16 version;
	__u32 size;
	__u64 ktime_ns;  /* bpf_ktime_get_ns() (CLOCK_MONOTONIC) */
	__u32 pid;       /* tgid */
	__u32 tid;
	__u64 cgroup_id; /* cgroup v2 id */
}; /* 32 bytes */

/* --- process ------------------------------------------------------------ */

struct ar_proc_exec {
	struct ar_hdr hdr;
	__u32 ppid;
	__u32 uid;
	__u32 gid;
	__u32 argc;         /* true argc */
	__u16 filename_len; /* bytes in filename incl. NUL */
	__u16 args_len;     /* bytes in args (NUL-separated) */
	__u32 flags;        /* AR_F_* */
	char comm[AR_COMM_LEN];
	char filename[AR_PATH_MAX];
	char args[AR_ARGS_MAX];
}; /* size is fixed; unused bytes are zero */

struct ar_proc_fork {
	struct ar_hdr hdr;    /* pid/tid = parent */
	__u32 child_pid;      /* tgid of the child */
	__u32 child_tid;
	__u32 is_thread;      /* 1 = new thread in the same process */
	__u32 _pad;
};

struct ar_proc_exit {
	struct ar_hdr hdr;
	__u32 ppid;
	__s32 exit_code;      /* raw wait status: (code << 8) | signal */
	__u32 is_thread;      /* 1 = a thread exited, not the process */
	__u32 _pad;
};

struct ar_proc_mmap_exec {
	struct ar_hdr hdr;
	__u64 dev;            /* s_dev of the mapped file's superblock */
	__u64 ino;
	__s32 fd;
	__u32 prot;
};

/* --- files and fds -------------------------------------------------------- */

struct ar_file_open {
	struct ar_hdr hdr;
	__s32 dirfd;
	__s32 ret;            /* fd, or -errno */
	__u32 flags;
	__u32 mode;
	__u16 path_len;       /* bytes incl. NUL */
	__u16 syscall;        /* AR_SYS_OPEN / OPENAT / OPENAT2 */
	__u32 _pad;
	char path[AR_PATH_MAX];
};

enum ar_fd_kind {
	AR_FD_UNKNOWN = 0,
	AR_FD_FILE = 1,
	AR_FD_SOCKET = 2,
	AR_FD_PIPE = 3,
	AR_FD_OTHER = 4,
};

enum ar_flush_reason {
	AR_FLUSH_CLOSE = 1,
	AR_FLUSH_EXIT = 2,
	AR_FLUSH_PERIODIC = 3,
};

struct ar_fd_io {
	struct ar_hdr hdr;
	__s32 fd;
	__u32 fd_kind;        /* enum ar_fd_kind */
	__u64 read_bytes;     /* since the previous ar_fd_io of this fd */
	__u64 write_bytes;
	__u32 read_calls;
	__u32 write_calls;
	__u32 reason;         /* enum ar_flush_reason */
	__u32 _pad;
	__u64 first_ns;
	__u64 last_ns;
	__u64 ino;            /* inode of the fd's file, 0 if unknown */
};

enum ar_file_op_kind {
	AR_FOP_UNLINK = 1,
	AR_FOP_RENAME = 2,
	AR_FOP_TRUNCATE = 3,
	AR_FOP_CHMOD = 4,
	AR_FOP_RMDIR = 5,
	AR_FOP_MKDIR = 6,
};

struct ar_file_op {
	struct ar_hdr hdr;
	__u32 kind;           /* enum ar_file_op_kind */
	__s32 ret;            /* 0 or -errno */
	__s32 fd;             /* ftruncate/fchmod fd, else -1 */
	__u32 mode;           /* chmod mode */
	__u64 length;         /* truncate length */
	__u16 path_len;
	__u16 path2_len;      /* rename target */
	__u32 _pad;
	char path[AR_PATH_MAX];
	char path2[AR_PATH_MAX];
};

/* --- network ---------------------------------------------------------------- */

struct ar_net_conn {         /* AR_OP_NET_CONNECT and AR_OP_NET_ACCEPT */
	struct ar_hdr hdr;
	__s32 fd;             /* connect: the socket; accept: the new fd (or -errno) */
	__s32 ret;            /* 0/fd, or -errno (EINPROGRESS counts as success) */
	__u16 family;         /* AF_INET, AF_INET6, AF_UNIX */
	__u16 port;           /* host byte order */
	__u16 sock_type;      /* SOCK_STREAM (1), SOCK_DGRAM (2); 0 if unknown */
	__u16 _pad;
	__u8 addr[16];        /* IPv4 in the first 4 bytes */
};

#define AR_PEEK_MAX 2048 /* bytes of a first write / DNS answer kept */

enum ar_peek_kind {
	AR_PEEK_FIRST_WRITE = 1, /* the first bytes a process wrote on a connected stream socket */
	AR_PEEK_DNS_ANSWER = 2,  /* a datagram read from a socket connected to port 53 */
};

/* The egress floor: enough of a connection's first bytes to name its peer
 * (TLS ClientHello SNI/ALPN, an HTTP request's Host) and the DNS answers that
 * map addresses to names, whatever TLS library the process uses. */
struct ar_net_peek {
	struct ar_hdr hdr;
	__s32 fd;
	__u32 kind;           /* enum ar_peek_kind */
	__u32 call_len;       /* true length of the write (or of the read, for DNS) */
	__u32 data_len;       /* bytes following this struct (<= AR_PEEK_MAX) */
	/* __u8 data[data_len], then zero padding to 8 bytes */
};

/* --- TLS plaintext ------------------------------------------------------------ */

enum ar_direction {
	AR_DIR_EGRESS = 0,    /* SSL_write: the process sends */
	AR_DIR_INGRESS = 1,   /* SSL_read: the process receives */
};

struct ar_tls_data {
	struct ar_hdr hdr;
	__u64 ssl_ptr;        /* stream key is (pid, ssl_ptr) */
	__u32 direction;      /* enum ar_direction */
	__u32 call_len;       /* true bytes of this SSL call */
	__u32 chunk_offset;   /* offset of this chunk inside the call */
	__u32 chunk_len;      /* payload bytes following this struct */
	__s32 fd;             /* paired socket fd, -1 if not yet known */
	__u32 flags;          /* AR_F_TRUNCATED when call_len > captured */
	__u64 call_seq;       /* per-CPU-unique sequence of the SSL call */
	/* __u8 data[chunk_len], then zero padding to 8 bytes */
};

struct ar_tls_pair {
	struct ar_hdr hdr;
	__u64 ssl_ptr;
	__s32 fd;
	__u32 how;            /* 1 = socket I/O inside the SSL call, 2 = next socket write */
};

/* --- pipes -------------------------------------------------------------------- */

struct ar_pipe_data {
	struct ar_hdr hdr;
	__u64 pipe_ino;       /* inode of the pipe: joins writer and reader */
	__s32 fd;
	__u32 direction;      /* AR_DIR_EGRESS = write */
	__u32 call_len;
	__u32 chunk_offset;
	__u32 chunk_len;
	__u32 flags;
	/* __u8 data[chunk_len], then zero padding to 8 bytes */
};

/* --- kernel enforcement (enforce.bpf.c) ---------------------------------------- */

enum ar_enforce_what {
	AR_ENF_CONNECT = 1, /* connect to a destination outside the allow list */
	AR_ENF_EXEC = 2,    /* exec of a denied binary */
	AR_ENF_OPEN = 3,    /* open of a denied path */
	AR_ENF_SEND = 4,    /* sendto/sendmsg to a destination outside the allow list (UDP, TCP Fast Open) */
};

enum ar_enforce_match {
	AR_ENF_BY_ADDR = 0,  /* connect: the destination is in no allow entry */
	AR_ENF_BY_PATH = 1,  /* the path as passed, at syscall entry */
	AR_ENF_BY_INODE = 2, /* the file itself (any name: relative, symlink, hard link), at open exit / exec */
};

/* Hash key of the exec/open inode deny list: the listed files as stat()ed
 * when the lists were applied (dev in the kernel's encoding, MKDEV). */
struct ar_enf_inode_key {
	__u64 dev;
	__u64 ino;
	__u32 what;           /* AR_ENF_EXEC or AR_ENF_OPEN */
	__u32 _pad;
};

#define AR_ENF_PATH_MAX 256 /* bytes of an LPM key's path (LPM_DATA_SIZE_MAX) */

/* LPM trie key of the exec/open deny lists: an exact path is stored with its
 * NUL (prefixlen = (len + 1) * 8), a directory prefix ending in '/' without. */
struct ar_enf_path_key {
	__u32 prefixlen;
	char path[AR_ENF_PATH_MAX];
};

/* LPM trie key of the connect allow list: family, port (network order; 0 =
 * any port, looked up second), then the address (CIDR via prefixlen). */
struct ar_enf_addr_key {
	__u32 prefixlen;
	__u8 family;          /* 4 or 6; an IPv4-mapped IPv6 address is looked up as 4 */
	__u8 port[2];         /* big-endian */
	__u8 addr[16];        /* IPv4 in the first 4 bytes */
	__u8 _pad;
};

/* Which lists are active (a single-entry array map `enforce_config`). */
struct ar_enf_config {
	__u32 connect_on;     /* 1 = connects outside enforce_connect_allow are killed */
	__u32 connect_rule;   /* rule index reported for a connect kill */
	__u32 exec_on;
	__u32 open_on;
};

struct ar_enforce {
	struct ar_hdr hdr;
	__u32 what;           /* enum ar_enforce_what */
	__u32 rule;           /* index of the rule (the lists' map value) */
	__s32 signal_ret;     /* bpf_send_signal() result: 0, or -errno (not killed) */
	__u16 family;         /* connect: AF_INET / AF_INET6 */
	__u16 port;           /* connect: host byte order */
	__u8 addr[16];        /* connect: IPv4 in the first 4 bytes */
	__u16 path_len;       /* exec/open: bytes incl. NUL (0 when unknown) */
	__u16 syscall;        /* AR_SYS_OPEN / OPENAT / OPENAT2, or 0 */
	__u32 matched;        /* enum ar_enforce_match */
	__u64 ino;            /* AR_ENF_BY_INODE: the inode that matched */
	char path[AR_PATH_MAX];
};

/* --- flags, syscalls, counters ------------------------------------------------ */

#define AR_F_TRUNCATED      (1u << 0)
#define AR_F_ARGS_TRUNCATED (1u << 1)
#define AR_F_PATH_TRUNCATED (1u << 2)

enum ar_open_syscall {
	AR_SYS_OPEN = 1,
	AR_SYS_OPENAT = 2,
	AR_SYS_OPENAT2 = 3,
};

/* Per-CPU counters, index into the `<family>_drops` arrays. Never reused. */
enum ar_drop_reason {
	AR_DROP_RINGBUF_FULL = 0,
	AR_DROP_PAYLOAD_TRUNCATED = 1,
	AR_DROP_MAP_FULL = 2,
	AR_DROP_READ_FAILED = 3, /* bpf_probe_read_* failed */
	AR_DROP_TLS_RECORD_UNPARSED = 4, /* an AEAD-sealed TLS 1.3 record whose inner type was not found (padding) */
	AR_DROP_REASON_MAX = 8,
};

/* Config shared by all programs (a single-entry array map `ar_config`). */
struct ar_config {
	__u32 trace_all;        /* 1 = --all */
	__u32 tls_cap;          /* bytes captured per SSL call */
	__u32 pipe_cap;         /* bytes captured per pipe write */
	__u32 self_pid;         /* the sensor itself is never traced */
	__u64 flush_interval_ns;
};

#ifdef __cplusplus
#define AR_STATIC_ASSERT static_assert
#else
#define AR_STATIC_ASSERT _Static_assert
#endif

AR_STATIC_ASSERT(sizeof(struct ar_hdr) == 32, "ar_hdr");
AR_STATIC_ASSERT(sizeof(struct ar_proc_exec) == 32 + 24 + AR_COMM_LEN + AR_PATH_MAX + AR_ARGS_MAX, "ar_proc_exec");
AR_STATIC_ASSERT(sizeof(struct ar_proc_fork) == 48, "ar_proc_fork");
AR_STATIC_ASSERT(sizeof(struct ar_proc_exit) == 48, "ar_proc_exit");
AR_STATIC_ASSERT(sizeof(struct ar_proc_mmap_exec) == 56, "ar_proc_mmap_exec");
AR_STATIC_ASSERT(sizeof(struct ar_file_open) == 56 + AR_PATH_MAX, "ar_file_open");
AR_STATIC_ASSERT(sizeof(struct ar_fd_io) == 96, "ar_fd_io");
AR_STATIC_ASSERT(sizeof(struct ar_file_op) == 64 + 2 * AR_PATH_MAX, "ar_file_op");
AR_STATIC_ASSERT(sizeof(struct ar_net_conn) == 64, "ar_net_conn");
AR_STATIC_ASSERT(sizeof(struct ar_net_peek) == 48, "ar_net_peek");
AR_STATIC_ASSERT(sizeof(struct ar_tls_data) == 72, "ar_tls_data");
AR_STATIC_ASSERT(sizeof(struct ar_tls_pair) == 48, "ar_tls_pair");
AR_STATIC_ASSERT(sizeof(struct ar_pipe_data) == 64, "ar_pipe_data");
AR_STATIC_ASSERT(sizeof(struct ar_config) == 24, "ar_config");
AR_STATIC_ASSERT(sizeof(struct ar_enforce) == 80 + AR_PATH_MAX, "ar_enforce");
AR_STATIC_ASSERT(sizeof(struct ar_enf_inode_key) == 24, "ar_enf_inode_key");
AR_STATIC_ASSERT(sizeof(struct ar_enf_path_key) == 4 + AR_ENF_PATH_MAX, "ar_enf_path_key");
AR_STATIC_ASSERT(sizeof(struct ar_enf_addr_key) == 24, "ar_enf_addr_key");
AR_STATIC_ASSERT(sizeof(struct ar_enf_config) == 16, "ar_enf_config");

#endif /* AGENTRAIL_ABI_H */
