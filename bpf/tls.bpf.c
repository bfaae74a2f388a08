// SPDX-License-Identifier: Apache-2.0
/*
 * agentrail TLS plaintext capture (DESIGN.md §2).
 *
 * uprobe + uretprobe on SSL_write, SSL_read, SSL_write_ex, SSL_read_ex. The
 * programs are SEC("uprobe") without a target: native/src/tls_attacher.cc
 * attaches them to every libssl / binary exporting those symbols, once per
 * (device, inode), pid = -1; traced processes are selected here, in the kernel.
 *
 * Entry saves (ssl, buf, len | written-ptr) per thread; return emits
 * AR_OP_TLS_DATA records (struct ar_tls_data + payload chunk of at most
 * AR_PAYLOAD_CHUNK bytes). Full chunks are read straight into a reserved
 * ring-buffer record; the last, partial chunk is built in a per-CPU scratch
 * map and copied with bpf_ringbuf_output so the record is only as long as its
 * chunk. The first ar_config.tls_cap bytes of a call are captured (default
 * AR_TLS_CAP_DEFAULT = 2 MiB, at most TLS_MAX_CHUNKS chunks, emitted by
 * bpf_loop so the cap costs no verifier budget); call_len keeps the true length, AR_F_TRUNCATED and
 * the AR_DROP_PAYLOAD_TRUNCATED counter mark the cut.
 *
 * Pairing SSL* -> socket fd (AR_OP_TLS_PAIR):
 *  how = 1: socket I/O by the same thread while it is inside an SSL call
 *           (OpenSSL socket BIOs: Python, curl);
 *  how = 2: the first socket write of the same thread after SSL_write returned
 *           without socket I/O inside the call (memory BIOs: Node).
 */
#define AR_DROPS_MAP tls_drops /* per-CPU drop counters of this family */
#include "ar_common.bpf.h"     /* shared maps: ar_events, ar_pids, ar_cgroups, ar_config */

char LICENSE[] SEC("license") = "GPL";

#define TLS_MAX_CHUNKS 4096 /* hard upper bound of tls_cap: 4096 * 4 KiB = 16 MiB */

/* ---- maps of this family ---- */

enum tls_fn {
	TLS_FN_WRITE = 0,
	TLS_FN_READ = 1,
	TLS_FN_WRITE_EX = 2,
	TLS_FN_READ_EX = 3,
};

struct tls_call {
	__u64 ssl;
	__u64 buf;
	__u64 len_or_ptr; /* num (SSL_write/SSL_read) or size_t *written/readbytes (_ex) */
	__u32 fn;
	__s32 io_fd;      /* socket fd seen inside the call, -1 if none */
};

/* thread -> SSL call in progress. LRU: a thread killed inside a call leaves
 * its entry behind; eviction of such entries keeps the map usable. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);   /* pid_tgid */
	__type(value, struct tls_call);
} tls_calls SEC(".maps");

struct tls_key {
	__u64 ssl;
	__u32 pid;
	__u32 _pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct tls_key);
	__type(value, __s32);  /* fd */
} tls_fds SEC(".maps");

/* thread -> SSL* whose SSL_write returned without socket I/O (memory BIO) */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);   /* pid_tgid */
	__type(value, __u64); /* ssl */
} tls_pending SEC(".maps");

struct tls_scratch {
	struct ar_tls_data rec;
	__u8 data[AR_PAYLOAD_CHUNK + 8];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tls_scratch);
} tls_scratch SEC(".maps");

struct tls_full {
	struct ar_tls_data rec;
	__u8 data[AR_PAYLOAD_CHUNK];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} tls_seq SEC(".maps");

static __always_inline void fill_hdr(struct ar_hdr *h, __u16 op, __u32 size, __u64 pid_tgid)
{
	h->op = op;
	h->version = AR_ABI_VERSION;
	h->size = size;
	h->ktime_ns = bpf_ktime_get_ns();
	h->pid = pid_tgid >> 32;
	h->tid = (__u32)pid_tgid;
	h->cgroup_id = bpf_get_current_cgroup_id();
}

/* ---- uprobes ---- */

static __always_inline int on_entry(__u64 ssl, __u64 buf, __u64 len_or_ptr, __u32 fn)
{
	if (!ar_traced())
		return 0;
	__u64 id = bpf_get_current_pid_tgid();
	struct tls_call c = {
		.ssl = ssl, .buf = buf, .len_or_ptr = len_or_ptr, .fn = fn, .io_fd = -1,
	};
	if (bpf_map_update_elem(&tls_calls, &id, &c, BPF_ANY))
		ar_drop(AR_DROP_MAP_FULL);
	return 0;
}

static __always_inline void emit_pair(__u64 id, __u64 ssl, __s32 fd, __u32 how)
{
	struct ar_tls_pair p = {};
	fill_hdr(&p.hdr, AR_OP_TLS_PAIR, sizeof(p), id);
	p.ssl_ptr = ssl;
	p.fd = fd;
	p.how = how;
	ar_output(&p, sizeof(p));
}

/* Record fd as the socket of (pid, ssl); emit a pair record when it changed. */
static __always_inline __s32 set_pair(__u64 id, __u64 ssl, __s32 fd, __u32 how)
{
	struct tls_key k = { .ssl = ssl, .pid = id >> 32 };
	__s32 *old = bpf_map_lookup_elem(&tls_fds, &k);
	if (old && *old == fd)
		return fd;
	if (bpf_map_update_elem(&tls_fds, &k, &fd, BPF_ANY))
		ar_drop(AR_DROP_MAP_FULL);
	emit_pair(id, ssl, fd, how);
	return fd;
}

struct chunk_ctx {
	__u64 id;
	__u64 ssl;
	__u64 buf;
	__u64 captured;
	__u64 total;
	__u64 seq;
	__u32 dir;
	__s32 fd;
	__u32 flags;
	__u32 _pad;
};

/* One chunk of a call: returns 1 (stop) on the first failure, so a call is
 * never emitted with a hole in the middle, only cut short (and counted). */
static long emit_chunk(__u64 i, void *arg)
{
	struct chunk_ctx *cx = arg;
	__u32 zero = 0;
	__u64 off = i * AR_PAYLOAD_CHUNK;
	__u64 n = cx->captured > off ? cx->captured - off : 0;
	if (n > AR_PAYLOAD_CHUNK)
		n = AR_PAYLOAD_CHUNK;
	__u32 call_len = cx->total > 0xffffffffULL ? 0xffffffffU : (__u32)cx->total;

	if (n == AR_PAYLOAD_CHUNK) {
		/* full chunk: fixed size, read straight into the ring buffer (one copy) */
		struct tls_full *r = bpf_ringbuf_reserve(&ar_events, sizeof(*r), 0);
		if (!r) {
			ar_drop(AR_DROP_RINGBUF_FULL);
			return 1;
		}
		if (bpf_probe_read_user(r->data, AR_PAYLOAD_CHUNK, (void *)(cx->buf + off))) {
			bpf_ringbuf_discard(r, 0);
			ar_drop(AR_DROP_READ_FAILED);
			return 1;
		}
		fill_hdr(&r->rec.hdr, AR_OP_TLS_DATA, sizeof(*r), cx->id);
		r->rec.ssl_ptr = cx->ssl;
		r->rec.direction = cx->dir;
		r->rec.call_len = call_len;
		r->rec.chunk_offset = off;
		r->rec.chunk_len = AR_PAYLOAD_CHUNK;
		r->rec.fd = cx->fd;
		r->rec.flags = cx->flags;
		r->rec.call_seq = cx->seq;
		ar_submit(r);
		return 0;
	}

	/* partial chunk: built in the per-CPU scratch map, output at its exact size */
	struct tls_scratch *s = bpf_map_lookup_elem(&tls_scratch, &zero);
	if (!s)
		return 1;
	n &= (AR_PAYLOAD_CHUNK * 2 - 1); /* verifier: n <= 8191, and n < 4096 here */
	if (n > AR_PAYLOAD_CHUNK)
		return 1;
	/* zero the 8-byte word holding the end, so padding never carries stale bytes */
	__u64 padw = n & ~7ULL;
	if (padw <= AR_PAYLOAD_CHUNK)
		*(__u64 *)&s->data[padw] = 0;
	if (n > 0 && bpf_probe_read_user(s->data, n, (void *)(cx->buf + off))) {
		ar_drop(AR_DROP_READ_FAILED);
		return 1;
	}
	__u32 size = sizeof(struct ar_tls_data) + ((n + 7) & ~7ULL);
	fill_hdr(&s->rec.hdr, AR_OP_TLS_DATA, size, cx->id);
	s->rec.ssl_ptr = cx->ssl;
	s->rec.direction = cx->dir;
	s->rec.call_len = call_len;
	s->rec.chunk_offset = off;
	s->rec.chunk_len = n;
	s->rec.fd = cx->fd;
	s->rec.flags = cx->flags;
	s->rec.call_seq = cx->seq;
	if (size > sizeof(struct tls_scratch))
		return 1;
	ar_output(s, size);
	return 1; /* the partial chunk is always the last */
}

/* Emits one call's plaintext as AR_OP_TLS_DATA chunks: the first tls_cap
 * bytes of `total`, the rest counted as truncated. Shared by the OpenSSL
 * return probes and the Go crypto/tls probes. */
static __always_inline int emit_plaintext(__u64 id, __u64 ssl, __u64 buf, __u64 total, __u32 dir, __s32 fd)
{
	__u32 zero = 0;
	struct ar_config *cfg = bpf_map_lookup_elem(&ar_config, &zero);
	__u64 cap = cfg ? cfg->tls_cap : AR_TLS_CAP_DEFAULT;
	if (cap > (__u64)TLS_MAX_CHUNKS * AR_PAYLOAD_CHUNK)
		cap = (__u64)TLS_MAX_CHUNKS * AR_PAYLOAD_CHUNK;
	__u64 captured = total < cap ? total : cap;
	__u32 flags = 0;
	if (captured < total) {
		flags |= AR_F_TRUNCATED;
		ar_drop(AR_DROP_PAYLOAD_TRUNCATED);
	}

	__u64 *seqp = bpf_map_lookup_elem(&tls_seq, &zero);
	__u64 seq = 0;
	if (seqp) {
		*seqp += 1;
		seq = ((__u64)bpf_get_smp_processor_id() << 48) | *seqp;
	}

	/* a truncated call with cap 0 still reports its true length, without payload */
	__u32 nchunks = (captured + AR_PAYLOAD_CHUNK - 1) / AR_PAYLOAD_CHUNK;
	if (nchunks == 0)
		nchunks = 1;
	struct chunk_ctx cx = {
		.id = id, .ssl = ssl, .buf = buf, .captured = captured,
		.total = total, .seq = seq, .dir = dir, .fd = fd, .flags = flags,
	};
	/* bpf_loop: the verifier checks the body once, so a call of up to
	 * TLS_MAX_CHUNKS chunks (16 MiB) costs no verifier budget per chunk. */
	bpf_loop(nchunks, emit_chunk, &cx, 0);
	return 0;
}

static __always_inline int on_return(long ret)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct tls_call *c = bpf_map_lookup_elem(&tls_calls, &id);
	if (!c)
		return 0;
	struct tls_call call = *c;
	bpf_map_delete_elem(&tls_calls, &id);

	__u64 total;
	if (call.fn == TLS_FN_WRITE_EX || call.fn == TLS_FN_READ_EX) {
		if (ret != 1)
			return 0;
		size_t n = 0;
		if (bpf_probe_read_user(&n, sizeof(n), (void *)call.len_or_ptr)) {
			ar_drop(AR_DROP_READ_FAILED);
			return 0;
		}
		total = n;
	} else {
		if (ret <= 0)
			return 0;
		total = ret;
	}
	if (total == 0)
		return 0;

	__u32 dir = (call.fn == TLS_FN_WRITE || call.fn == TLS_FN_WRITE_EX) ? AR_DIR_EGRESS : AR_DIR_INGRESS;

	/* socket fd: seen inside this call, else the known pair */
	__s32 fd = -1;
	if (call.io_fd >= 0) {
		fd = set_pair(id, call.ssl, call.io_fd, 1);
	} else {
		struct tls_key k = { .ssl = call.ssl, .pid = id >> 32 };
		__s32 *known = bpf_map_lookup_elem(&tls_fds, &k);
		if (known)
			fd = *known;
		if (dir == AR_DIR_EGRESS) {
			/* memory BIO: the ciphertext goes out with the thread's next socket write */
			if (bpf_map_update_elem(&tls_pending, &id, &call.ssl, BPF_ANY))
				ar_drop(AR_DROP_MAP_FULL);
		}
	}

	return emit_plaintext(id, call.ssl, call.buf, total, dir, fd);
}

SEC("uprobe")
int BPF_KPROBE(handle_ssl_write, void *ssl, const void *buf, int num)
{
	return on_entry((__u64)ssl, (__u64)buf, (__u64)(long)num, TLS_FN_WRITE);
}

SEC("uretprobe")
int BPF_KRETPROBE(handle_ssl_write_ret, int ret)
{
	return on_return(ret);
}

SEC("uprobe")
int BPF_KPROBE(handle_ssl_read, void *ssl, void *buf, int num)
{
	return on_entry((__u64)ssl, (__u64)buf, (__u64)(long)num, TLS_FN_READ);
}

SEC("uretprobe")
int BPF_KRETPROBE(handle_ssl_read_ret, int ret)
{
	return on_return(ret);
}

SEC("uprobe")
int BPF_KPROBE(handle_ssl_write_ex, void *ssl, const void *buf, size_t num, size_t *written)
{
	return on_entry((__u64)ssl, (__u64)buf, (__u64)written, TLS_FN_WRITE_EX);
}

SEC("uretprobe")
int BPF_KRETPROBE(handle_ssl_write_ex_ret, int ret)
{
	return on_return(ret);
}

SEC("uprobe")
int BPF_KPROBE(handle_ssl_read_ex, void *ssl, void *buf, size_t num, size_t *readbytes)
{
	return on_entry((__u64)ssl, (__u64)buf, (__u64)readbytes, TLS_FN_READ_EX);
}

SEC("uretprobe")
int BPF_KRETPROBE(handle_ssl_read_ex_ret, int ret)
{
	return on_return(ret);
}

/* ---- Go crypto/tls (native/src/go_locator.cc finds the offsets) ----
 *
 * Go register ABI (amd64): receiver in rax, then the slice (ptr rbx, len rcx);
 * results in rax (n), rbx/rcx (error); r14 holds the current goroutine g.
 * Never a uretprobe on Go code: goroutine stacks move (and grow by copying),
 * so a rewritten return address would crash the program. Instead:
 *  Write: everything is known at entry; the plaintext is emitted there.
 *  Read:  entry saves (conn, buf) keyed by (pid, g), since a goroutine may
 *         resume on another thread; a plain uprobe on each RET instruction of
 *         Read takes n from rax and emits the bytes read.
 * The stream key (ssl_ptr) is the *tls.Conn. Pairing: tls.Conn.Write writes
 * the ciphertext to the socket from the same thread before it returns, so the
 * "next socket write of the thread" rule (how = 2) pairs it. */

struct go_g_key {
	__u64 g;
	__u32 pid;
	__u32 _pad;
};

struct go_read {
	__u64 conn;
	__u64 buf;
};

/* (pid, goroutine) -> Read in progress. LRU: a goroutine that never returns
 * (process killed inside Read) leaves an entry behind. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct go_g_key);
	__type(value, struct go_read);
} go_reads SEC(".maps");

static __always_inline __s32 known_fd(__u64 id, __u64 conn)
{
	struct tls_key k = { .ssl = conn, .pid = id >> 32 };
	__s32 *fd = bpf_map_lookup_elem(&tls_fds, &k);
	return fd ? *fd : -1;
}

SEC("uprobe")
int handle_go_tls_write(struct pt_regs *ctx)
{
	if (!ar_traced())
		return 0;
	__u64 id = bpf_get_current_pid_tgid();
	__u64 conn = ctx->ax, buf = ctx->bx;
	long len = (long)ctx->cx;
	if (len <= 0)
		return 0;
	/* the ciphertext goes out with the thread's next socket write (how = 2) */
	if (bpf_map_update_elem(&tls_pending, &id, &conn, BPF_ANY))
		ar_drop(AR_DROP_MAP_FULL);
	return emit_plaintext(id, conn, buf, (__u64)len, AR_DIR_EGRESS, known_fd(id, conn));
}

SEC("uprobe")
int handle_go_tls_read(struct pt_regs *ctx)
{
	if (!ar_traced())
		return 0;
	struct go_g_key k = { .g = ctx->r14, .pid = bpf_get_current_pid_tgid() >> 32 };
	struct go_read r = { .conn = ctx->ax, .buf = ctx->bx };
	if (bpf_map_update_elem(&go_reads, &k, &r, BPF_ANY))
		ar_drop(AR_DROP_MAP_FULL);
	return 0;
}

/* Attached at every RET of crypto/tls.(*Conn).Read (a uprobe, not a uretprobe). */
SEC("uprobe")
int handle_go_tls_read_ret(struct pt_regs *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct go_g_key k = { .g = ctx->r14, .pid = id >> 32 };
	struct go_read *r = bpf_map_lookup_elem(&go_reads, &k);
	if (!r)
		return 0;
	struct go_read call = *r;
	bpf_map_delete_elem(&go_reads, &k);
	long n = (long)ctx->ax;
	if (n <= 0)
		return 0;
	return emit_plaintext(id, call.conn, call.buf, (__u64)n, AR_DIR_INGRESS, known_fd(id, call.conn));
}

static __always_inline bool fd_is_socket(__s32 fd)
{
	struct file *f = ar_fd_file(fd);
	return f && ar_file_kind(f, NULL) == AR_FD_SOCKET;
}

/* ---- aws-lc EVP_AEAD_CTX_seal/open (rustls: Codex) ---- */
#include "tls_aead.bpf.h"

/* ---- socket pairing through syscall tracepoints ---- */

static __always_inline int on_sock_io(__s32 fd, bool is_write)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct tls_call *c = bpf_map_lookup_elem(&tls_calls, &id);
	if (c) {
		/* inside an SSL call: OpenSSL's own socket BIO */
		if (c->io_fd < 0 && fd_is_socket(fd))
			c->io_fd = fd;
		return 0;
	}
	if (!is_write) {
		aead_on_read(id, fd);
		return 0;
	}
	__u64 *ssl = bpf_map_lookup_elem(&tls_pending, &id);
	if (!ssl)
		return 0;
	__u64 s = *ssl;
	if (!fd_is_socket(fd))
		return 0; /* a file or pipe write in between: keep waiting for the socket */
	bpf_map_delete_elem(&tls_pending, &id);
	set_pair(id, s, fd, 2);
	aead_on_paired(id, s, fd);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_write")
int handle_tls_enter_write(struct trace_event_raw_sys_enter *ctx)
{
	return on_sock_io((__s32)ctx->args[0], true);
}

SEC("tracepoint/syscalls/sys_enter_writev")
int handle_tls_enter_writev(struct trace_event_raw_sys_enter *ctx)
{
	return on_sock_io((__s32)ctx->args[0], true);
}

SEC("tracepoint/syscalls/sys_enter_sendto")
int handle_tls_enter_sendto(struct trace_event_raw_sys_enter *ctx)
{
	return on_sock_io((__s32)ctx->args[0], true);
}

SEC("tracepoint/syscalls/sys_enter_sendmsg")
int handle_tls_enter_sendmsg(struct trace_event_raw_sys_enter *ctx)
{
	return on_sock_io((__s32)ctx->args[0], true);
}

SEC("tracepoint/syscalls/sys_enter_read")
int handle_tls_enter_read(struct trace_event_raw_sys_enter *ctx)
{
	return on_sock_io((__s32)ctx->args[0], false);
}

SEC("tracepoint/syscalls/sys_enter_readv")
int handle_tls_enter_readv(struct trace_event_raw_sys_enter *ctx)
{
	return on_sock_io((__s32)ctx->args[0], false);
}

SEC("tracepoint/syscalls/sys_enter_recvfrom")
int handle_tls_enter_recvfrom(struct trace_event_raw_sys_enter *ctx)
{
	return on_sock_io((__s32)ctx->args[0], false);
}

SEC("tracepoint/syscalls/sys_enter_recvmsg")
int handle_tls_enter_recvmsg(struct trace_event_raw_sys_enter *ctx)
{
	return on_sock_io((__s32)ctx->args[0], false);
}
