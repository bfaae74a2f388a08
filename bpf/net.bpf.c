/* SPDX-License-Identifier: Apache-2.0 */
/* Network: connect and accept/accept4 (family, address, port, fd, result).
 * connect reports the address the process asked for (read from its
 * sockaddr), accept the peer of the new socket (read from struct sock).
 * Send/recv byte counts are aggregated with files in file.bpf.c. */
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
