/* SPDX-License-Identifier: Apache-2.0 */
/* Files and fds: open/openat/openat2 (path, flags, mode, fd or -errno);
 * per-(tgid,fd) byte/call counters of read/write/pread64/pwrite64/readv/writev
 * and sendto/recvfrom/sendmsg/recvmsg, aggregated here in `file_fdstats` and
 * emitted as AR_OP_FD_IO on close (also dup2/dup3/close_range), on process
 * exit, on exec (as a periodic flush) and periodically (the addon drains the
 * map); unlink, rename, truncate, chmod, mkdir, rmdir. */
#define AR_DROPS_MAP file_drops
#include "ar_common.bpf.h"
#include "ar_fdstats.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define AT_REMOVEDIR 0x200

struct open_args {
	__u64 path;
	__u32 flags;
	__u32 mode;
	__s32 dirfd;
	__u16 syscall;
	__u16 _pad;
};

struct io_args {
	__s32 fd;
	__u32 write;
};

struct fop_args {
	__u64 path;
	__u64 path2;
	__u64 length;
	__u32 kind;
	__s32 fd;
	__u32 mode;
	__u32 _pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, struct open_args);
} file_open_args SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, struct io_args);
} file_io_args SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, struct fop_args);
} file_fop_args SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, AR_FDSTATS_MAX);
	__type(key, struct ar_fdkey);
	__type(value, struct ar_fdstat);
} file_fdstats SEC(".maps");

/* --- open ------------------------------------------------------------------- */

static __always_inline int open_enter(__u16 sys, int dirfd, const char *path, __u32 flags, __u32 mode)
{
	if (!ar_traced())
		return 0;
	__u64 id = bpf_get_current_pid_tgid();
	struct open_args a = {
		.path = (__u64)path, .flags = flags, .mode = mode, .dirfd = dirfd, .syscall = sys,
	};
	if (bpf_map_update_elem(&file_open_args, &id, &a, BPF_ANY))
		ar_drop(AR_DROP_MAP_FULL);
	return 0;
}

static __always_inline int open_exit(long ret)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct open_args *a = bpf_map_lookup_elem(&file_open_args, &id);
	if (!a)
		return 0;
	struct ar_file_open *r = ar_reserve(sizeof(*r));
	if (r) {
		__builtin_memset(r, 0, sizeof(*r));
		ar_fill_hdr(&r->hdr, AR_OP_FILE_OPEN, sizeof(*r));
		r->dirfd = a->dirfd;
		r->ret = ret;
		r->flags = a->flags;
		r->mode = a->mode;
		r->syscall = a->syscall;
		long n = bpf_probe_read_user_str(r->path, sizeof(r->path), (void *)a->path);
		if (n < 0) {
			ar_drop(AR_DROP_READ_FAILED);
			n = 0;
		}
		r->path_len = n;
		ar_submit(r);
	}
	bpf_map_delete_elem(&file_open_args, &id);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_open")
int handle_enter_open(struct trace_event_raw_sys_enter *ctx)
{
	return open_enter(AR_SYS_OPEN, -100, (const char *)ctx->args[0], ctx->args[1], ctx->args[2]);
}

SEC("tracepoint/syscalls/sys_enter_openat")
int handle_enter_openat(struct trace_event_raw_sys_enter *ctx)
{
	return open_enter(AR_SYS_OPENAT, ctx->args[0], (const char *)ctx->args[1], ctx->args[2], ctx->args[3]);
}

SEC("tracepoint/syscalls/sys_enter_openat2")
int handle_enter_openat2(struct trace_event_raw_sys_enter *ctx)
{
	struct open_how how = {};
	bpf_probe_read_user(&how, sizeof(how), (void *)ctx->args[2]);
	return open_enter(AR_SYS_OPENAT2, ctx->args[0], (const char *)ctx->args[1], how.flags, how.mode);
}

SEC("tracepoint/syscalls/sys_exit_open")
int handle_exit_open(struct trace_event_raw_sys_exit *ctx) { return open_exit(ctx->ret); }
SEC("tracepoint/syscalls/sys_exit_openat")
int handle_exit_openat(struct trace_event_raw_sys_exit *ctx) { return open_exit(ctx->ret); }
SEC("tracepoint/syscalls/sys_exit_openat2")
int handle_exit_openat2(struct trace_event_raw_sys_exit *ctx) { return open_exit(ctx->ret); }

/* --- fd I/O counters -------------------------------------------------------- */

static __always_inline int io_enter(int fd, __u32 write)
{
	if (fd < 0 || !ar_traced())
		return 0;
	__u64 id = bpf_get_current_pid_tgid();
	struct io_args a = { .fd = fd, .write = write };
	if (bpf_map_update_elem(&file_io_args, &id, &a, BPF_ANY))
		ar_drop(AR_DROP_MAP_FULL);
	return 0;
}

static __always_inline int io_exit(long ret)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct io_args *a = bpf_map_lookup_elem(&file_io_args, &id);
	if (!a)
		return 0;
	struct ar_fdkey k = { .tgid = id >> 32, .fd = a->fd };
	__u32 write = a->write;
	bpf_map_delete_elem(&file_io_args, &id);
	if (ret < 0)
		return 0;
	__u64 now = bpf_ktime_get_ns();
	struct ar_fdstat *s = bpf_map_lookup_elem(&file_fdstats, &k);
	if (!s) {
		struct ar_fdstat init = {};
		init.first_ns = now;
		init.cgroup_id = bpf_get_current_cgroup_id();
		init.fd_kind = ar_file_kind(ar_fd_file(k.fd), &init.ino);
		if (bpf_map_update_elem(&file_fdstats, &k, &init, BPF_NOEXIST) == -7 /* E2BIG */) {
			ar_drop(AR_DROP_MAP_FULL);
			return 0;
		}
		s = bpf_map_lookup_elem(&file_fdstats, &k);
		if (!s)
			return 0;
	}
	if (write) {
		__sync_fetch_and_add(&s->write_bytes, ret);
		__sync_fetch_and_add(&s->write_calls, 1);
	} else {
		__sync_fetch_and_add(&s->read_bytes, ret);
		__sync_fetch_and_add(&s->read_calls, 1);
	}
	s->last_ns = now;
	s->tid = (__u32)id;
	return 0;
}

#define AR_IO_PAIR(name, write)                                                      \
	SEC("tracepoint/syscalls/sys_enter_" #name)                                  \
	int handle_enter_##name(struct trace_event_raw_sys_enter *ctx)               \
	{                                                                            \
		return io_enter((int)ctx->args[0], write);                           \
	}                                                                            \
	SEC("tracepoint/syscalls/sys_exit_" #name)                                   \
	int handle_exit_##name(struct trace_event_raw_sys_exit *ctx)                 \
	{                                                                            \
		return io_exit(ctx->ret);                                            \
	}

AR_IO_PAIR(read, 0)
AR_IO_PAIR(write, 1)
AR_IO_PAIR(pread64, 0)
AR_IO_PAIR(pwrite64, 1)
AR_IO_PAIR(readv, 0)
AR_IO_PAIR(writev, 1)
AR_IO_PAIR(recvfrom, 0)
AR_IO_PAIR(sendto, 1)
AR_IO_PAIR(recvmsg, 0)
AR_IO_PAIR(sendmsg, 1)
/* sendfile and splice move bytes without a user buffer: counted on the
 * destination fd (a socket, for an upload from a file). */
AR_IO_PAIR(sendfile64, 1)

SEC("tracepoint/syscalls/sys_enter_splice")
int handle_enter_splice(struct trace_event_raw_sys_enter *ctx)
{
	return io_enter((int)ctx->args[2], 1);
}
SEC("tracepoint/syscalls/sys_exit_splice")
int handle_exit_splice(struct trace_event_raw_sys_exit *ctx)
{
	return io_exit(ctx->ret);
}

static __always_inline void emit_fdio(struct ar_fdkey *k, struct ar_fdstat *s, __u32 reason)
{
	struct ar_fd_io *r = ar_reserve(sizeof(*r));
	if (!r)
		return;
	ar_fill_hdr(&r->hdr, AR_OP_FD_IO, sizeof(*r));
	r->hdr.pid = k->tgid;
	r->hdr.tid = s->tid;
	r->hdr.cgroup_id = s->cgroup_id;
	r->fd = k->fd;
	r->fd_kind = s->fd_kind;
	r->read_bytes = s->read_bytes;
	r->write_bytes = s->write_bytes;
	r->read_calls = s->read_calls;
	r->write_calls = s->write_calls;
	r->reason = reason;
	r->_pad = 0;
	r->first_ns = s->first_ns;
	r->last_ns = s->last_ns;
	r->ino = s->ino;
	ar_submit(r);
}

SEC("tracepoint/syscalls/sys_enter_close")
int handle_enter_close(struct trace_event_raw_sys_enter *ctx)
{
	if (!ar_traced())
		return 0;
	struct ar_fdkey k = { .tgid = bpf_get_current_pid_tgid() >> 32, .fd = (int)ctx->args[0] };
	struct ar_fdstat *s = bpf_map_lookup_elem(&file_fdstats, &k);
	if (!s)
		return 0;
	emit_fdio(&k, s, AR_FLUSH_CLOSE);
	bpf_map_delete_elem(&file_fdstats, &k);
	return 0;
}

/* dup2/dup3 onto an open fd close it implicitly: flush its counters first,
 * or they would be merged with the new file's. */
static __always_inline int flush_fd(int fd)
{
	if (!ar_traced())
		return 0;
	struct ar_fdkey k = { .tgid = bpf_get_current_pid_tgid() >> 32, .fd = fd };
	struct ar_fdstat *s = bpf_map_lookup_elem(&file_fdstats, &k);
	if (!s)
		return 0;
	emit_fdio(&k, s, AR_FLUSH_CLOSE);
	bpf_map_delete_elem(&file_fdstats, &k);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_dup2")
int handle_enter_dup2(struct trace_event_raw_sys_enter *ctx)
{
	if (ctx->args[0] == ctx->args[1])
		return 0;
	return flush_fd((int)ctx->args[1]);
}

SEC("tracepoint/syscalls/sys_enter_dup3")
int handle_enter_dup3(struct trace_event_raw_sys_enter *ctx)
{
	return flush_fd((int)ctx->args[1]);
}

struct range_ctx {
	__u32 tgid;
	__u32 first;
	__u32 last;
};

static long flush_range_cb(struct bpf_map *map, struct ar_fdkey *k, struct ar_fdstat *s, struct range_ctx *c)
{
	if (k->tgid != c->tgid || (__u32)k->fd < c->first || (__u32)k->fd > c->last)
		return 0;
	emit_fdio(k, s, AR_FLUSH_CLOSE);
	bpf_map_delete_elem(map, k);
	return 0;
}

/* close_range(first, last, flags): posix_spawn and modern runtimes close
 * inherited fds this way. CLOSE_RANGE_CLOEXEC (4) only marks them. */
SEC("tracepoint/syscalls/sys_enter_close_range")
int handle_enter_close_range(struct trace_event_raw_sys_enter *ctx)
{
	if ((ctx->args[2] & 4) || !ar_traced())
		return 0;
	struct range_ctx c = {
		.tgid = bpf_get_current_pid_tgid() >> 32, .first = ctx->args[0], .last = ctx->args[1],
	};
	bpf_for_each_map_elem(&file_fdstats, flush_range_cb, &c, 0);
	return 0;
}

struct tgid_ctx {
	__u32 tgid;
	__u32 reason;
};

static long flush_tgid_cb(struct bpf_map *map, struct ar_fdkey *k, struct ar_fdstat *s, struct tgid_ctx *c)
{
	if (k->tgid != c->tgid)
		return 0;
	emit_fdio(k, s, c->reason);
	bpf_map_delete_elem(map, k);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(handle_exit_flush, struct task_struct *task)
{
	__u32 tgid = BPF_CORE_READ(task, tgid);
	if (!ar_traced_tgid(tgid))
		return 0;
	if (BPF_CORE_READ(task, signal, live.counter) != 0)
		return 0; /* other threads remain and share the fd table */
	struct tgid_ctx c = { .tgid = tgid, .reason = AR_FLUSH_EXIT };
	bpf_for_each_map_elem(&file_fdstats, flush_tgid_cb, &c, 0);
	return 0;
}

/* exec closes O_CLOEXEC fds without a close(): flush every counter of the
 * process (as a periodic flush: fds that survive start a fresh entry), so a
 * new file opened on a reused fd number never inherits old counts. */
SEC("tp_btf/sched_process_exec")
int BPF_PROG(handle_exec_flush, struct task_struct *task)
{
	__u32 tgid = BPF_CORE_READ(task, tgid);
	if (!ar_traced_tgid(tgid))
		return 0;
	struct tgid_ctx c = { .tgid = tgid, .reason = AR_FLUSH_PERIODIC };
	bpf_for_each_map_elem(&file_fdstats, flush_tgid_cb, &c, 0);
	return 0;
}

/* --- unlink, rename, truncate, chmod, mkdir, rmdir ---------------------------- */

static __always_inline int fop_enter(__u32 kind, const char *p1, const char *p2, int fd, __u32 mode, __u64 length)
{
	if (!ar_traced())
		return 0;
	__u64 id = bpf_get_current_pid_tgid();
	struct fop_args a = {
		.path = (__u64)p1, .path2 = (__u64)p2, .length = length, .kind = kind, .fd = fd, .mode = mode,
	};
	if (bpf_map_update_elem(&file_fop_args, &id, &a, BPF_ANY))
		ar_drop(AR_DROP_MAP_FULL);
	return 0;
}

static __always_inline int fop_exit(long ret)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct fop_args *a = bpf_map_lookup_elem(&file_fop_args, &id);
	if (!a)
		return 0;
	struct ar_file_op *r = ar_reserve(sizeof(*r));
	if (r) {
		__builtin_memset(r, 0, sizeof(*r));
		ar_fill_hdr(&r->hdr, AR_OP_FILE_OP, sizeof(*r));
		r->kind = a->kind;
		r->ret = ret;
		r->fd = a->fd;
		r->mode = a->mode;
		r->length = a->length;
		if (a->path) {
			long n = bpf_probe_read_user_str(r->path, sizeof(r->path), (void *)a->path);
			r->path_len = n > 0 ? n : 0;
		}
		if (a->path2) {
			long n = bpf_probe_read_user_str(r->path2, sizeof(r->path2), (void *)a->path2);
			r->path2_len = n > 0 ? n : 0;
		}
		ar_submit(r);
	}
	bpf_map_delete_elem(&file_fop_args, &id);
	return 0;
}

#define AR_FOP(name, kind_expr, p1, p2, fd, mode, len)                               \
	SEC("tracepoint/syscalls/sys_enter_" #name)                                  \
	int handle_enter_##name(struct trace_event_raw_sys_enter *ctx)               \
	{                                                                            \
		return fop_enter(kind_expr, (const char *)(p1), (const char *)(p2),  \
				 fd, mode, len);                                     \
	}                                                                            \
	SEC("tracepoint/syscalls/sys_exit_" #name)                                   \
	int handle_exit_##name(struct trace_event_raw_sys_exit *ctx)                 \
	{                                                                            \
		return fop_exit(ctx->ret);                                           \
	}

#define A(i) (ctx->args[i])
AR_FOP(unlink, AR_FOP_UNLINK, A(0), 0, -1, 0, 0)
AR_FOP(unlinkat, (A(2) & AT_REMOVEDIR) ? AR_FOP_RMDIR : AR_FOP_UNLINK, A(1), 0, -1, 0, 0)
AR_FOP(rmdir, AR_FOP_RMDIR, A(0), 0, -1, 0, 0)
AR_FOP(mkdir, AR_FOP_MKDIR, A(0), 0, -1, A(1), 0)
AR_FOP(mkdirat, AR_FOP_MKDIR, A(1), 0, -1, A(2), 0)
AR_FOP(rename, AR_FOP_RENAME, A(0), A(1), -1, 0, 0)
AR_FOP(renameat, AR_FOP_RENAME, A(1), A(3), -1, 0, 0)
AR_FOP(renameat2, AR_FOP_RENAME, A(1), A(3), -1, 0, 0)
AR_FOP(truncate, AR_FOP_TRUNCATE, A(0), 0, -1, 0, A(1))
AR_FOP(ftruncate, AR_FOP_TRUNCATE, 0, 0, (int)A(0), 0, A(1))
AR_FOP(chmod, AR_FOP_CHMOD, A(0), 0, -1, A(1), 0)
AR_FOP(fchmod, AR_FOP_CHMOD, 0, 0, (int)A(0), A(1), 0)
AR_FOP(fchmodat, AR_FOP_CHMOD, A(1), 0, -1, A(2), 0)
AR_FOP(fchmodat2, AR_FOP_CHMOD, A(1), 0, -1, A(2), 0)
