/* SPDX-License-Identifier: Apache-2.0 */
/*
 * aws-lc AEAD probes (rustls over aws-lc-rs: Codex), part of tls.bpf.c: it
 * shares that object's maps (tls_fds, tls_pending), emit_plaintext and the
 * socket-pairing tracepoints. native/src/aead_locator.cc finds the offsets.
 *
 * rustls seals and opens each TLS record in place with
 *   EVP_AEAD_CTX_seal/open(ctx, out, *out_len, max_out_len, nonce, nonce_len,
 *                          in, in_len, ad, ad_len)
 * (System V: six register arguments, the rest on the stack). The record kind
 * comes from the additional data: TLS 1.3 authenticates the 5-byte record
 * header and hides the real content type as the last plaintext byte; TLS 1.2
 * authenticates 13 bytes with the type at offset 8. Only application data
 * (0x17) is kept, without the TLS 1.3 type byte; handshake messages and
 * alerts are not content. Other AEAD users (ad_len neither 5 nor 13) are not
 * TLS and are ignored.
 *
 * Stream key: the sealing context of the connection, so both directions of a
 * connection are one stream (each direction has its own EVP_AEAD_CTX).
 *  seal (entry, plaintext still in `in`): the ciphertext goes out with the
 *    thread's next socket write (tls_pending, how = 2, as for Node/Go).
 *  open (uretprobe, plaintext in `out`, length in *out_len): the record came
 *    from the thread's last socket read (aead_rd, how = 3; recorded for every
 *    thread of a process once it sealed or opened any record); aead_wkey maps
 *    that socket back to its sealing context. rustls reads and decrypts on
 *    the same tokio worker within one poll, so "last read of this thread" is
 *    the record's socket.
 */
#ifndef AGENTRAIL_TLS_AEAD_BPF_H
#define AGENTRAIL_TLS_AEAD_BPF_H

#define TLS_CT_APPLICATION_DATA 0x17
#define AEAD_PAIR_HOW_READ 3

struct aead_open {
	__u64 ctx;
	__u64 out;
	__u64 out_len; /* size_t * */
	__u32 ad_len;
	__u32 type12;  /* TLS 1.2 content type from the additional data */
};

/* thread -> EVP_AEAD_CTX_open in progress */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);   /* pid_tgid */
	__type(value, struct aead_open);
} aead_opens SEC(".maps");

/* processes that sealed or opened a TLS record (the TLS 1.3 handshake does,
 * before any application data): only their socket reads are recorded, so
 * other readers pay one lookup. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);   /* tgid */
	__type(value, __u8);
} aead_pids SEC(".maps");

/* thread of an AEAD process -> its last socket read fd. Any thread of the
 * process: the tokio worker that reads a response may never have sealed. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);   /* pid_tgid */
	__type(value, __s32);
} aead_rd SEC(".maps");

struct aead_fd_key {
	__u32 pid;
	__s32 fd;
};

/* (pid, socket fd) -> the sealing context paired with it: the stream key */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct aead_fd_key);
	__type(value, __u64);
} aead_wkey SEC(".maps");

static __always_inline void aead_thread_seen(__u64 id)
{
	__u32 tgid = id >> 32;
	__u8 one = 1;
	if (!bpf_map_lookup_elem(&aead_pids, &tgid))
		bpf_map_update_elem(&aead_pids, &tgid, &one, BPF_ANY);
}

/* on_sock_io hooks: a socket read by an AEAD process; a pairing by next write. */
static __always_inline void aead_on_read(__u64 id, __s32 fd)
{
	__u32 tgid = id >> 32;
	if (!bpf_map_lookup_elem(&aead_pids, &tgid))
		return;
	__s32 *rd = bpf_map_lookup_elem(&aead_rd, &id);
	if (rd && *rd == fd)
		return;
	if (fd_is_socket(fd) && bpf_map_update_elem(&aead_rd, &id, &fd, BPF_ANY))
		ar_drop(AR_DROP_MAP_FULL);
}

static __always_inline void aead_on_paired(__u64 id, __u64 ctx, __s32 fd)
{
	__u32 tgid = id >> 32;
	if (!bpf_map_lookup_elem(&aead_pids, &tgid))
		return; /* not an AEAD process (OpenSSL memory BIO, Go) */
	struct aead_fd_key k = { .pid = id >> 32, .fd = fd };
	if (bpf_map_update_elem(&aead_wkey, &k, &ctx, BPF_ANY))
		ar_drop(AR_DROP_MAP_FULL);
}

/* Stack argument n (7 = first) at function entry: rsp points at the return address. */
static __always_inline __u64 stack_arg(struct pt_regs *ctx, int n)
{
	__u64 v = 0;
	bpf_probe_read_user(&v, sizeof(v), (void *)(PT_REGS_SP(ctx) + 8 * (n - 6)));
	return v;
}

/* TLS 1.2: the content type at offset 8 of the 13-byte additional data. */
static __always_inline __u32 tls12_type(__u64 ad)
{
	__u8 t = 0;
	bpf_probe_read_user(&t, 1, (void *)(ad + 8));
	return t;
}

/* Length of the application data in a record's plaintext, 0 to skip it. */
static __always_inline __u64 app_len(__u64 buf, __u64 len, __u32 ad_len, __u32 type12)
{
	if (len == 0)
		return 0;
	if (ad_len == 13)
		return type12 == TLS_CT_APPLICATION_DATA ? len : 0;
	__u8 inner = 0;
	if (bpf_probe_read_user(&inner, 1, (void *)(buf + len - 1))) {
		ar_drop(AR_DROP_READ_FAILED);
		return 0;
	}
	if (inner == 0)
		ar_drop(AR_DROP_TLS_RECORD_UNPARSED); /* padded record: its type is further back */
	return inner == TLS_CT_APPLICATION_DATA ? len - 1 : 0;
}

/* A record sealed: plaintext `in` is still intact at the function's entry. */
static __always_inline int on_seal(__u64 actx, __u64 in, __u64 in_len, __u64 ad, __u64 ad_len)
{
	if (!ar_traced())
		return 0;
	if (ad_len != 5 && ad_len != 13)
		return 0;
	__u64 id = bpf_get_current_pid_tgid();
	aead_thread_seen(id);
	__u64 n = app_len(in, in_len, ad_len, ad_len == 13 ? tls12_type(ad) : 0);
	if (n == 0)
		return 0;
	if (bpf_map_update_elem(&tls_pending, &id, &actx, BPF_ANY))
		ar_drop(AR_DROP_MAP_FULL);
	return emit_plaintext(id, actx, in, n, AR_DIR_EGRESS, known_fd(id, actx));
}

/* EVP_AEAD_CTX_seal(ctx, out, out_len, max_out_len, nonce, nonce_len, in, in_len, ad, ad_len):
 * rustls' TLS 1.3 records (aws-lc-rs seal_in_place_append_tag). */
SEC("uprobe")
int handle_aead_seal(struct pt_regs *ctx)
{
	return on_seal(PT_REGS_PARM1(ctx), stack_arg(ctx, 7), stack_arg(ctx, 8), stack_arg(ctx, 9), stack_arg(ctx, 10));
}

/* EVP_AEAD_CTX_seal_scatter(ctx, out, out_tag, out_tag_len, max_out_tag_len, nonce,
 * nonce_len, in, in_len, extra_in, extra_in_len, ad, ad_len): rustls' TLS 1.2 GCM records
 * (seal_in_place_separate_tag, the tag placed after the explicit nonce and payload). */
SEC("uprobe")
int handle_aead_seal_scatter(struct pt_regs *ctx)
{
	return on_seal(PT_REGS_PARM1(ctx), stack_arg(ctx, 8), stack_arg(ctx, 9), stack_arg(ctx, 12), stack_arg(ctx, 13));
}

SEC("uprobe")
int handle_aead_open(struct pt_regs *ctx)
{
	if (!ar_traced())
		return 0;
	__u64 id = bpf_get_current_pid_tgid();
	__u64 ad_len = stack_arg(ctx, 10);
	if (ad_len != 5 && ad_len != 13)
		return 0;
	aead_thread_seen(id);
	struct aead_open o = {
		.ctx = PT_REGS_PARM1(ctx), .out = PT_REGS_PARM2(ctx), .out_len = PT_REGS_PARM3(ctx),
		.ad_len = ad_len, .type12 = ad_len == 13 ? tls12_type(stack_arg(ctx, 9)) : 0,
	};
	if (bpf_map_update_elem(&aead_opens, &id, &o, BPF_ANY))
		ar_drop(AR_DROP_MAP_FULL);
	return 0;
}

SEC("uretprobe")
int handle_aead_open_ret(struct pt_regs *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct aead_open *p = bpf_map_lookup_elem(&aead_opens, &id);
	if (!p)
		return 0;
	struct aead_open o = *p;
	bpf_map_delete_elem(&aead_opens, &id);
	if ((int)PT_REGS_RC(ctx) != 1)
		return 0; /* authentication failed: nothing was decrypted */
	__u64 len = 0;
	if (bpf_probe_read_user(&len, sizeof(len), (void *)o.out_len)) {
		ar_drop(AR_DROP_READ_FAILED);
		return 0;
	}
	__u64 n = app_len(o.out, len, o.ad_len, o.type12);
	if (n == 0)
		return 0;
	__s32 fd = -1;
	__s32 *rd = bpf_map_lookup_elem(&aead_rd, &id);
	if (rd)
		fd = *rd;
	__u64 key = o.ctx;
	if (fd >= 0) {
		struct aead_fd_key k = { .pid = id >> 32, .fd = fd };
		__u64 *w = bpf_map_lookup_elem(&aead_wkey, &k);
		if (w)
			key = *w;
		set_pair(id, key, fd, AEAD_PAIR_HOW_READ);
	}
	return emit_plaintext(id, key, o.out, n, AR_DIR_INGRESS, fd);
}

#endif /* AGENTRAIL_TLS_AEAD_BPF_H */
