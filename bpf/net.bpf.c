/* SPDX-License-Identifier: Apache-2.0 */
/* Network: connect and accept/accept4 (family, address, port, fd, result).
 * connect reports the address the process asked for (read from its
 * sockaddr), accept the peer of the new socket (read from struct sock).
 * Send/recv byte counts are aggregated with files in file.bpf.c.
 *
 * The egress floor (no TLS library needed): the first bytes a process writes
 * on each connected stream socket (a TLS ClientHello names its server in SNI
 * and ALPN; a plaintext request carries Host) and the answers read from
 * sockets connected to port 53 (DNS), copied as AR_OP_NET_PEEK records. */
#define AR_DROPS_MAP net_drops
#include "ar_common.bpf.h"
#include <bpf/bpf_endian.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define AF_UNIX 1
#define AF_INET 2
#define AF_INET6 10

struct conn_args {
	__u64 addr;
	__s32 fd;
	__u32 addrlen;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, struct conn_args);
} net_args SEC(".maps");

#define SOCK_STREAM 1
#define SOCK_DGRAM 2

/* Sockets whose next bytes are worth a peek: a connected stream socket before
 * its first write (PEEK_FIRST_WRITE), a socket connected to port 53 (every
 * answer read, PEEK_DNS). LRU: a socket closed before its first write must
 * not hold a slot forever. */
struct peek_key {
	__u32 tgid;
	__s32 fd;
};
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct peek_key);
	__type(value, __u32);
} net_peek_socks SEC(".maps");

/* A DNS read in flight: buffer address (or iovec for recvmsg/readv) per thread. */
struct dns_read {
	__u64 buf;
	__s32 fd;
	__u32 vec; /* 1: buf is a struct iovec *, 2: buf is a struct user_msghdr * */
};
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, struct dns_read);
} net_dns_reads SEC(".maps");

struct peek_scratch {
	struct ar_net_peek rec;
	__u8 data[AR_PEEK_MAX + 8];
};
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct peek_scratch);
} net_peek_scratch SEC(".maps");

static __always_inline __u16 sock_type_of(int fd)
{
	struct file *f = ar_fd_file(fd);
	struct socket *sock = f ? BPF_CORE_READ(f, private_data) : NULL;
	return sock ? BPF_CORE_READ(sock, type) : 0;
}

/* Copy up to AR_PEEK_MAX bytes at user address buf into one record. */
static __always_inline void emit_peek(int fd, __u32 kind, __u64 buf, __u64 len)
{
	__u32 zero = 0;
	struct peek_scratch *s = bpf_map_lookup_elem(&net_peek_scratch, &zero);
	if (!s)
		return;
	__u64 n = len < AR_PEEK_MAX ? len : AR_PEEK_MAX;
	n &= (AR_PEEK_MAX * 2 - 1);
	if (n > AR_PEEK_MAX)
		n = AR_PEEK_MAX;
	if (n < len)
		ar_drop(AR_DROP_PAYLOAD_TRUNCATED);
	__u64 padw = n & ~7ULL;
	if (padw <= AR_PEEK_MAX)
		*(__u64 *)&s->data[padw] = 0;
	if (n > 0 && bpf_probe_read_user(s->data, n, (void *)buf)) {
		ar_drop(AR_DROP_READ_FAILED);
		return;
	}
	__u32 size = sizeof(struct ar_net_peek) + ((n + 7) & ~7ULL);
	ar_fill_hdr(&s->rec.hdr, AR_OP_NET_PEEK, size);
	s->rec.fd = fd;
	s->rec.kind = kind;
	s->rec.call_len = len > 0xffffffffULL ? 0xffffffffU : (__u32)len;
	s->rec.data_len = n;
	if (size > sizeof(struct peek_scratch))
		return;
	ar_output(s, size);
}

static __always_inline int stash(int fd, __u64 addr, __u32 addrlen)
{
	if (!ar_traced())
		return 0;
	__u64 id = bpf_get_current_pid_tgid();
	struct conn_args a = { .addr = addr, .fd = fd, .addrlen = addrlen };
	if (bpf_map_update_elem(&net_args, &id, &a, BPF_ANY))
		ar_drop(AR_DROP_MAP_FULL);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_connect")
int handle_enter_connect(struct trace_event_raw_sys_enter *ctx)
{
	return stash((int)ctx->args[0], ctx->args[1], (__u32)ctx->args[2]);
}

SEC("tracepoint/syscalls/sys_exit_connect")
int handle_exit_connect(struct trace_event_raw_sys_exit *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct conn_args *a = bpf_map_lookup_elem(&net_args, &id);
	if (!a)
		return 0;
	struct ar_net_conn *r = ar_reserve(sizeof(*r));
	if (r) {
		__builtin_memset(r, 0, sizeof(*r));
		ar_fill_hdr(&r->hdr, AR_OP_NET_CONNECT, sizeof(*r));
		r->fd = a->fd;
		r->ret = ctx->ret; /* -EINPROGRESS (-115) = non-blocking connect started: success */
		__u16 family = 0;
		bpf_probe_read_user(&family, sizeof(family), (void *)a->addr);
		r->family = family;
		r->sock_type = sock_type_of(a->fd);
		if (family == AF_INET) {
			struct sockaddr_in sin = {};
			bpf_probe_read_user(&sin, sizeof(sin), (void *)a->addr);
			r->port = bpf_ntohs(sin.sin_port);
			__builtin_memcpy(r->addr, &sin.sin_addr, 4);
		} else if (family == AF_INET6) {
			struct sockaddr_in6 sin6 = {};
			bpf_probe_read_user(&sin6, sizeof(sin6), (void *)a->addr);
			r->port = bpf_ntohs(sin6.sin6_port);
			__builtin_memcpy(r->addr, &sin6.sin6_addr, 16);
		} else if (family == AF_UNIX) {
			/* first 16 bytes of sun_path (abstract sockets start with NUL) */
			bpf_probe_read_user(r->addr, sizeof(r->addr), (void *)(a->addr + 2));
		}
		if ((family == AF_INET || family == AF_INET6) && (r->ret == 0 || r->ret == -115)) {
			struct peek_key k = { .tgid = id >> 32, .fd = a->fd };
			__u32 what = r->port == 53 ? AR_PEEK_DNS_ANSWER : (r->sock_type == SOCK_STREAM ? AR_PEEK_FIRST_WRITE : 0);
			if (what && bpf_map_update_elem(&net_peek_socks, &k, &what, BPF_ANY))
				ar_drop(AR_DROP_MAP_FULL);
		}
		ar_submit(r);
	}
	bpf_map_delete_elem(&net_args, &id);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_accept")
int handle_enter_accept(struct trace_event_raw_sys_enter *ctx)
{
	return stash((int)ctx->args[0], ctx->args[1], 0);
}

SEC("tracepoint/syscalls/sys_enter_accept4")
int handle_enter_accept4(struct trace_event_raw_sys_enter *ctx)
{
	return stash((int)ctx->args[0], ctx->args[1], 0);
}

static __always_inline int accept_exit(long ret)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct conn_args *a = bpf_map_lookup_elem(&net_args, &id);
	if (!a)
		return 0;
	bpf_map_delete_elem(&net_args, &id);
	if (ret == -11 /* EAGAIN: nothing to accept on a non-blocking socket */)
		return 0;
	struct ar_net_conn *r = ar_reserve(sizeof(*r));
	if (!r)
		return 0;
	__builtin_memset(r, 0, sizeof(*r));
	ar_fill_hdr(&r->hdr, AR_OP_NET_ACCEPT, sizeof(*r));
	r->fd = ret;
	r->ret = ret;
	if (ret >= 0) {
		struct file *f = ar_fd_file(ret);
		struct socket *sock = f ? BPF_CORE_READ(f, private_data) : NULL;
		struct sock *sk = sock ? BPF_CORE_READ(sock, sk) : NULL;
		if (sk) {
			__u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);
			r->family = family;
			r->port = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
			if (family == AF_INET) {
				__u32 daddr = BPF_CORE_READ(sk, __sk_common.skc_daddr);
				__builtin_memcpy(r->addr, &daddr, 4);
			} else if (family == AF_INET6) {
				BPF_CORE_READ_INTO(&r->addr, sk, __sk_common.skc_v6_daddr.in6_u.u6_addr8);
			}
		}
	}
	ar_submit(r);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_accept")
int handle_exit_accept(struct trace_event_raw_sys_exit *ctx) { return accept_exit(ctx->ret); }
SEC("tracepoint/syscalls/sys_exit_accept4")
int handle_exit_accept4(struct trace_event_raw_sys_exit *ctx) { return accept_exit(ctx->ret); }

/* --- the egress floor: first write and DNS answers ------------------------- */

/* Peek at a write's buffer if it is the first on a connected stream socket.
 * vec: 0 plain buffer, 1 iovec array, 2 user_msghdr (first iovec only). */
static __always_inline int first_write(int fd, __u64 buf, __u64 len, __u32 vec)
{
	if (fd < 0 || !ar_traced())
		return 0;
	struct peek_key k = { .tgid = bpf_get_current_pid_tgid() >> 32, .fd = fd };
	__u32 *what = bpf_map_lookup_elem(&net_peek_socks, &k);
	if (!what || *what != AR_PEEK_FIRST_WRITE)
		return 0;
	bpf_map_delete_elem(&net_peek_socks, &k);
	if (vec == 2) {
		struct user_msghdr m = {};
		if (bpf_probe_read_user(&m, sizeof(m), (void *)buf))
			return 0;
		buf = (__u64)m.msg_iov;
		len = m.msg_iovlen;
		vec = 1;
	}
	if (vec == 1) {
		if (len == 0)
			return 0;
		struct iovec iv = {};
		if (bpf_probe_read_user(&iv, sizeof(iv), (void *)buf))
			return 0;
		buf = (__u64)iv.iov_base;
		len = iv.iov_len;
	}
	emit_peek(fd, AR_PEEK_FIRST_WRITE, buf, len);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_write")
int handle_peek_write(struct trace_event_raw_sys_enter *ctx)
{
	return first_write((int)ctx->args[0], ctx->args[1], ctx->args[2], 0);
}

SEC("tracepoint/syscalls/sys_enter_sendto")
int handle_peek_sendto(struct trace_event_raw_sys_enter *ctx)
{
	return first_write((int)ctx->args[0], ctx->args[1], ctx->args[2], 0);
}

SEC("tracepoint/syscalls/sys_enter_writev")
int handle_peek_writev(struct trace_event_raw_sys_enter *ctx)
{
	return first_write((int)ctx->args[0], ctx->args[1], ctx->args[2], 1);
}

SEC("tracepoint/syscalls/sys_enter_sendmsg")
int handle_peek_sendmsg(struct trace_event_raw_sys_enter *ctx)
{
	return first_write((int)ctx->args[0], ctx->args[1], 0, 2);
}

static __always_inline int dns_enter(int fd, __u64 buf, __u32 vec)
{
	if (fd < 0 || !ar_traced())
		return 0;
	struct peek_key k = { .tgid = bpf_get_current_pid_tgid() >> 32, .fd = fd };
	__u32 *what = bpf_map_lookup_elem(&net_peek_socks, &k);
	if (!what || *what != AR_PEEK_DNS_ANSWER)
		return 0;
	__u64 id = bpf_get_current_pid_tgid();
	struct dns_read d = { .buf = buf, .fd = fd, .vec = vec };
	if (bpf_map_update_elem(&net_dns_reads, &id, &d, BPF_ANY))
		ar_drop(AR_DROP_MAP_FULL);
	return 0;
}

static __always_inline int dns_exit(long ret)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct dns_read *d = bpf_map_lookup_elem(&net_dns_reads, &id);
	if (!d)
		return 0;
	struct dns_read r = *d;
	bpf_map_delete_elem(&net_dns_reads, &id);
	if (ret <= 0)
		return 0;
	__u64 buf = r.buf;
	if (r.vec == 2) {
		struct user_msghdr m = {};
		if (bpf_probe_read_user(&m, sizeof(m), (void *)buf))
			return 0;
		buf = (__u64)m.msg_iov;
	}
	if (r.vec) {
		struct iovec iv = {};
		if (bpf_probe_read_user(&iv, sizeof(iv), (void *)buf))
			return 0;
		buf = (__u64)iv.iov_base;
		if ((__u64)ret > iv.iov_len)
			ret = iv.iov_len;
	}
	emit_peek(r.fd, AR_PEEK_DNS_ANSWER, buf, ret);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_read")
int handle_dns_enter_read(struct trace_event_raw_sys_enter *ctx) { return dns_enter((int)ctx->args[0], ctx->args[1], 0); }
SEC("tracepoint/syscalls/sys_exit_read")
int handle_dns_exit_read(struct trace_event_raw_sys_exit *ctx) { return dns_exit(ctx->ret); }
SEC("tracepoint/syscalls/sys_enter_recvfrom")
int handle_dns_enter_recvfrom(struct trace_event_raw_sys_enter *ctx) { return dns_enter((int)ctx->args[0], ctx->args[1], 0); }
SEC("tracepoint/syscalls/sys_exit_recvfrom")
int handle_dns_exit_recvfrom(struct trace_event_raw_sys_exit *ctx) { return dns_exit(ctx->ret); }
SEC("tracepoint/syscalls/sys_enter_recvmsg")
int handle_dns_enter_recvmsg(struct trace_event_raw_sys_enter *ctx) { return dns_enter((int)ctx->args[0], ctx->args[1], 2); }
SEC("tracepoint/syscalls/sys_exit_recvmsg")
int handle_dns_exit_recvmsg(struct trace_event_raw_sys_exit *ctx) { return dns_exit(ctx->ret); }
SEC("tracepoint/syscalls/sys_enter_readv")
int handle_dns_enter_readv(struct trace_event_raw_sys_enter *ctx) { return dns_enter((int)ctx->args[0], ctx->args[1], 1); }
SEC("tracepoint/syscalls/sys_exit_readv")
int handle_dns_exit_readv(struct trace_event_raw_sys_exit *ctx) { return dns_exit(ctx->ret); }

SEC("tracepoint/syscalls/sys_enter_close")
int handle_peek_close(struct trace_event_raw_sys_enter *ctx)
{
	if (!ar_traced())
		return 0;
	struct peek_key k = { .tgid = bpf_get_current_pid_tgid() >> 32, .fd = (int)ctx->args[0] };
	bpf_map_delete_elem(&net_peek_socks, &k);
	return 0;
}
