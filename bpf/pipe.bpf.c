/* SPDX-License-Identifier: Apache-2.0 */
/* Pipe payloads of traced processes (MCP over stdio is JSON-RPC on pipes):
 * write() and read() on a pipe fd, or on a unix stream socket (what libuv
 * uses for a child's stdio), emit AR_OP_PIPE_DATA records (pipe_ino = the
 * inode of the pipe or socket), the bytes
 * actually transferred, at most pipe_cap per call, in chunks of
 * AR_PAYLOAD_CHUNK built in a per-CPU scratch map. */
#define AR_DROPS_MAP pipe_drops
#include "ar_common.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define PIPE_MAX_CHUNKS 16 /* hard upper bound of pipe_cap: 16 * 4 KiB = 64 KiB */
#define PIPE_CAP_DEFAULT 16384

struct pipe_args {
	__u64 buf;
	__u64 ino;
	__s32 fd;
	__u32 direction;
};

struct pipe_scratch {
	struct ar_pipe_data rec;
	__u8 data[AR_PAYLOAD_CHUNK];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, struct pipe_args);
} pipe_args SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct pipe_scratch);
} pipe_scratch SEC(".maps");

static __always_inline int pipe_enter(int fd, __u64 buf, __u32 direction)
{
	if (fd < 0 || !ar_traced())
		return 0;
	__u64 ino = 0;
	struct file *f = ar_fd_file(fd);
	__u32 kind = ar_file_kind(f, &ino);
	if (kind == AR_FD_SOCKET) {
		/* Node/libuv gives children stdio over socketpair(AF_UNIX): an
		 * MCP server spawned by a Node agent talks over a unix socket. */
		struct socket *sock = BPF_CORE_READ(f, private_data);
		if (!sock || BPF_CORE_READ(sock, sk, __sk_common.skc_family) != 1 /* AF_UNIX */ ||
		    BPF_CORE_READ(sock, type) != 1 /* SOCK_STREAM */)
			return 0;
	} else if (kind != AR_FD_PIPE) {
		return 0;
	}
	__u64 id = bpf_get_current_pid_tgid();
	struct pipe_args a = { .buf = buf, .ino = ino, .fd = fd, .direction = direction };
	if (bpf_map_update_elem(&pipe_args, &id, &a, BPF_ANY))
		ar_drop(AR_DROP_MAP_FULL);
	return 0;
}

static __always_inline int pipe_exit(long ret)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct pipe_args *a = bpf_map_lookup_elem(&pipe_args, &id);
	if (!a)
		return 0;
	struct pipe_args args = *a;
	bpf_map_delete_elem(&pipe_args, &id);
	if (ret <= 0)
		return 0;
	__u32 zero = 0;
	struct ar_config *cfg = ar_cfg();
	struct pipe_scratch *s = bpf_map_lookup_elem(&pipe_scratch, &zero);
	if (!cfg || !s)
		return 0;
	__u32 cap = cfg->pipe_cap ? cfg->pipe_cap : PIPE_CAP_DEFAULT;
	if (cap > PIPE_MAX_CHUNKS * AR_PAYLOAD_CHUNK)
		cap = PIPE_MAX_CHUNKS * AR_PAYLOAD_CHUNK;
	__u32 call_len = ret;
	__u32 take = call_len;
	__u32 flags = 0;
	if (take > cap) {
		take = cap;
		flags |= AR_F_TRUNCATED;
		ar_drop(AR_DROP_PAYLOAD_TRUNCATED);
	}
	ar_fill_hdr(&s->rec.hdr, AR_OP_PIPE_DATA, 0);
	s->rec.pipe_ino = args.ino;
	s->rec.fd = args.fd;
	s->rec.direction = args.direction;
	s->rec.call_len = call_len;
	s->rec.flags = flags;

	for (__u32 i = 0; i < PIPE_MAX_CHUNKS; i++) {
		__u32 off = i * AR_PAYLOAD_CHUNK;
		if (off >= take)
			break;
		__u32 n = take - off;
		if (n > AR_PAYLOAD_CHUNK)
			n = AR_PAYLOAD_CHUNK;
		/* zero the tail word so the padding to 8 bytes never carries
		 * bytes of an earlier payload */
		if (n < AR_PAYLOAD_CHUNK)
			*(__u64 *)&s->data[n & (AR_PAYLOAD_CHUNK - 8)] = 0;
		/* n is in [1, CHUNK]; this form keeps it exact and lets the
		 * verifier see the bound */
		__u32 rd = ((n - 1) & (AR_PAYLOAD_CHUNK - 1)) + 1;
		if (bpf_probe_read_user(s->data, rd, (void *)(args.buf + off))) {
			ar_drop(AR_DROP_READ_FAILED);
			return 0;
		}
		__u32 padded = (n + 7) & ~7u;
		__u32 size = sizeof(struct ar_pipe_data) + (((padded - 1) & (AR_PAYLOAD_CHUNK - 1)) + 1);
		s->rec.hdr.size = size;
		s->rec.chunk_offset = off;
		s->rec.chunk_len = n;
		if (ar_output(s, size))
			return 0;
	}
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_write")
int handle_enter_write(struct trace_event_raw_sys_enter *ctx)
{
	return pipe_enter((int)ctx->args[0], ctx->args[1], AR_DIR_EGRESS);
}

SEC("tracepoint/syscalls/sys_exit_write")
int handle_exit_write(struct trace_event_raw_sys_exit *ctx) { return pipe_exit(ctx->ret); }

SEC("tracepoint/syscalls/sys_enter_read")
int handle_enter_read(struct trace_event_raw_sys_enter *ctx)
{
	return pipe_enter((int)ctx->args[0], ctx->args[1], AR_DIR_INGRESS);
}

SEC("tracepoint/syscalls/sys_exit_read")
int handle_exit_read(struct trace_event_raw_sys_exit *ctx) { return pipe_exit(ctx->ret); }
