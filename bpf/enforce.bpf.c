/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Kernel enforcement (docs/policy.md "Kernel enforcement", issue 13): deny a
 * traced process's connect outside an allow list, exec of listed binaries and
 * open of listed paths. No LSM, kprobe or fentry here, so the syscall cannot
 * be failed with EPERM: the program sends SIGKILL to the task from the
 * syscall-entry tracepoint. The signal is pending before the syscall body
 * runs and is delivered when it returns to user space, so the process never
 * executes another user instruction: a connect's SYN may leave but no byte of
 * data, an exec'd image never runs, an opened file is never read.
 *
 * Only processes in ar_pids / ar_cgroups are enforced; trace_all (--all)
 * never is. The lists (enforce_* maps) are empty until user space fills them
 * (src/policy/kernel-enforcer.ts), so the object is inert by default.
 */
#define AR_DROPS_MAP enforce_drops
#include "ar_common.bpf.h"
#include <bpf/bpf_endian.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define AF_INET 2
#define AF_INET6 10
#define SIGKILL 9

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ar_enf_config);
} enforce_config SEC(".maps");

/* value: rule index (reported in the record) */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 4096);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct ar_enf_addr_key);
	__type(value, __u32);
} enforce_connect_allow SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 4096);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct ar_enf_path_key);
	__type(value, __u32);
} enforce_exec_deny SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 4096);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct ar_enf_path_key);
	__type(value, __u32);
} enforce_open_deny SEC(".maps");

/* The listed files themselves (exact entries, stat()ed at apply): a relative
 * path, a symlink or a hard link to a denied file reaches the same inode. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct ar_enf_inode_key);
	__type(value, __u32);
} enforce_inode_deny SEC(".maps");

/* The last open's path pointer on this CPU, for the record of an inode match
 * at its exit (best effort: a task that migrated mid-open is reported without
 * its path). Per-CPU, so the open hot path writes no shared map. */
struct enf_open_arg {
	__u64 id;             /* pid_tgid */
	__u64 upath;
};
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct enf_open_arg);
} enforce_open_arg SEC(".maps");

/* Per-CPU scratch: the record and a path key are too big for the BPF stack. */
struct enf_scratch {
	struct ar_enforce rec;
	struct ar_enf_path_key key;
};
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct enf_scratch);
} enforce_scratch SEC(".maps");

/* Enforced: selected by pid or cgroup, never the sensor, never by --all alone. */
static __always_inline bool enf_selected(void)
{
	struct ar_config *cfg = ar_cfg();
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	if (!cfg || tgid == cfg->self_pid)
		return false;
	if (bpf_map_lookup_elem(&ar_pids, &tgid))
		return true;
	__u64 cg = bpf_get_current_cgroup_id();
	return bpf_map_lookup_elem(&ar_cgroups, &cg) != NULL;
}

static __always_inline struct ar_enf_config *enf_cfg(void)
{
	__u32 zero = 0;
	return bpf_map_lookup_elem(&enforce_config, &zero);
}

/* Kill first, then report: the record is best effort (a full ring buffer is counted). */
static __always_inline void enf_kill_and_report(struct ar_enforce *r)
{
	r->signal_ret = bpf_send_signal(SIGKILL);
	ar_fill_hdr(&r->hdr, AR_OP_POLICY_ENFORCE, sizeof(*r));
	if (bpf_ringbuf_output(&ar_events, r, sizeof(*r), BPF_RB_FORCE_WAKEUP))
		ar_drop(AR_DROP_RINGBUF_FULL);
}

static __always_inline void enf_inode_kill(struct ar_enforce *r, __u32 what, __u32 rule, __u64 ino, __u16 syscall)
{
	r->what = what;
	r->rule = rule;
	r->matched = AR_ENF_BY_INODE;
	r->ino = ino;
	r->syscall = syscall;
	enf_kill_and_report(r);
}

/* The scratch record, zeroed (only on a kill: rare). */
static __always_inline struct enf_scratch *enf_scratch(void)
{
	__u32 zero = 0;
	struct enf_scratch *s = bpf_map_lookup_elem(&enforce_scratch, &zero);
	if (s)
		__builtin_memset(&s->rec, 0, sizeof(s->rec));
	return s;
}

/* Already killed (a path match at entry): the exit/exec inode checks stay quiet. */
static __always_inline bool enf_kill_pending(void)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task_btf();
	unsigned long sig0 = BPF_CORE_READ(task, pending.signal.sig[0]);
	return sig0 & (1UL << (SIGKILL - 1));
}

/* The denied-inode rule of a file, or NULL. */
static __always_inline __u32 *enf_inode_rule(struct file *f, __u32 what, __u64 *ino)
{
	if (!f)
		return NULL;
	struct inode *inode = BPF_CORE_READ(f, f_inode);
	if (!inode)
		return NULL;
	struct ar_enf_inode_key k = {};
	k.dev = BPF_CORE_READ(inode, i_sb, s_dev);
	k.ino = BPF_CORE_READ(inode, i_ino);
	k.what = what;
	*ino = k.ino;
	return bpf_map_lookup_elem(&enforce_inode_deny, &k);
}

/* exec/open: the user path as passed, looked up in an LPM trie of paths. */
static __always_inline int enf_path(void *map, __u32 what, __u16 syscall, const char *upath)
{
	__u32 zero = 0;
	struct enf_scratch *s = bpf_map_lookup_elem(&enforce_scratch, &zero);
	if (!s)
		return 0;
	/* Not zeroed: stored prefixes end at or before the NUL, so bytes after it are never compared. */
	long n = bpf_probe_read_user_str(s->key.path, sizeof(s->key.path), upath);
	if (n <= 0) {
		ar_drop(AR_DROP_READ_FAILED);
		return 0;
	}
	s->key.prefixlen = AR_ENF_PATH_MAX * 8;
	__u32 *rule = bpf_map_lookup_elem(map, &s->key);
	if (!rule)
		return 0;
	__builtin_memset(&s->rec, 0, sizeof(s->rec));
	s->rec.what = what;
	s->rec.rule = *rule;
	s->rec.matched = AR_ENF_BY_PATH;
	s->rec.syscall = syscall;
	s->rec.path_len = n;
	__builtin_memcpy(s->rec.path, s->key.path, sizeof(s->rec.path));
	enf_kill_and_report(&s->rec);
	return 0;
}

static __always_inline int enf_exec(const char *upath)
{
	struct ar_enf_config *c = enf_cfg();
	if (!c || !c->exec_on || !enf_selected())
		return 0;
	return enf_path(&enforce_exec_deny, AR_ENF_EXEC, 0, upath);
}

static __always_inline int enf_open(__u16 syscall, const char *upath)
{
	struct ar_enf_config *c = enf_cfg();
	if (!c || !c->open_on || !enf_selected())
		return 0;
	__u32 zero = 0;
	struct enf_open_arg *a = bpf_map_lookup_elem(&enforce_open_arg, &zero);
	if (a) {
		a->id = bpf_get_current_pid_tgid();
		a->upath = (__u64)upath;
	}
	return enf_path(&enforce_open_deny, AR_ENF_OPEN, syscall, upath);
}

/* At the open's exit the fd names the file whatever path reached it; the
 * signal is still delivered before the process returns to read it. */
static __always_inline int enf_open_exit(__u16 syscall, long ret)
{
	if (ret < 0)
		return 0;
	struct ar_enf_config *c = enf_cfg();
	if (!c || !c->open_on || !enf_selected() || enf_kill_pending())
		return 0;
	__u64 ino = 0;
	__u32 *rule = enf_inode_rule(ar_fd_file((int)ret), AR_ENF_OPEN, &ino);
	if (!rule)
		return 0;
	struct enf_scratch *s = enf_scratch();
	if (!s)
		return 0;
	__u32 zero = 0;
	struct enf_open_arg *a = bpf_map_lookup_elem(&enforce_open_arg, &zero);
	if (a && a->id == bpf_get_current_pid_tgid()) {
		long n = bpf_probe_read_user_str(s->rec.path, sizeof(s->rec.path), (const char *)a->upath);
		s->rec.path_len = n > 0 ? n : 0;
	}
	enf_inode_kill(&s->rec, AR_ENF_OPEN, *rule, ino, syscall);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_open")
int enforce_open_exit(struct trace_event_raw_sys_exit *ctx)
{
	return enf_open_exit(AR_SYS_OPEN, ctx->ret);
}

SEC("tracepoint/syscalls/sys_exit_openat")
int enforce_openat_exit(struct trace_event_raw_sys_exit *ctx)
{
	return enf_open_exit(AR_SYS_OPENAT, ctx->ret);
}

SEC("tracepoint/syscalls/sys_exit_openat2")
int enforce_openat2_exit(struct trace_event_raw_sys_exit *ctx)
{
	return enf_open_exit(AR_SYS_OPENAT2, ctx->ret);
}

/* The image being exec'd, by inode: after the point of no return, before
 * its first user instruction. */
SEC("tp_btf/sched_process_exec")
int BPF_PROG(enforce_exec_inode, struct task_struct *task, pid_t old_pid, struct linux_binprm *bprm)
{
	struct ar_enf_config *c = enf_cfg();
	if (!c || !c->exec_on || !enf_selected() || enf_kill_pending())
		return 0;
	__u64 ino = 0;
	__u32 *rule = enf_inode_rule(BPF_CORE_READ(bprm, file), AR_ENF_EXEC, &ino);
	if (!rule)
		return 0;
	struct enf_scratch *s = enf_scratch();
	if (!s)
		return 0;
	long n = bpf_probe_read_kernel_str(s->rec.path, sizeof(s->rec.path), BPF_CORE_READ(bprm, filename));
	s->rec.path_len = n > 0 ? n : 0;
	enf_inode_kill(&s->rec, AR_ENF_EXEC, *rule, ino, 0);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_execve")
int enforce_execve(struct trace_event_raw_sys_enter *ctx)
{
	return enf_exec((const char *)ctx->args[0]);
}

SEC("tracepoint/syscalls/sys_enter_execveat")
int enforce_execveat(struct trace_event_raw_sys_enter *ctx)
{
	return enf_exec((const char *)ctx->args[1]);
}

SEC("tracepoint/syscalls/sys_enter_open")
int enforce_open(struct trace_event_raw_sys_enter *ctx)
{
	return enf_open(AR_SYS_OPEN, (const char *)ctx->args[0]);
}

SEC("tracepoint/syscalls/sys_enter_openat")
int enforce_openat(struct trace_event_raw_sys_enter *ctx)
{
	return enf_open(AR_SYS_OPENAT, (const char *)ctx->args[1]);
}

SEC("tracepoint/syscalls/sys_enter_openat2")
int enforce_openat2(struct trace_event_raw_sys_enter *ctx)
{
	return enf_open(AR_SYS_OPENAT2, (const char *)ctx->args[1]);
}

/* A destination a traced process names (connect, or sendto/sendmsg/sendmmsg
 * with an address: UDP datagrams and TCP Fast Open) outside the allow list.
 * Returns 1 when it killed. */
static __always_inline int enf_dest(__u32 what, const void *uaddr, __u32 alen)
{
	struct ar_enf_config *c = enf_cfg();
	if (!c || !c->connect_on || !uaddr || !enf_selected())
		return 0;
	__u16 family = 0;
	if (alen < sizeof(family) || bpf_probe_read_user(&family, sizeof(family), uaddr))
		return 0;
	struct ar_enf_addr_key k = {};
	__u8 port[2];
	if (family == AF_INET) {
		struct sockaddr_in sin = {};
		if (alen < sizeof(sin) || bpf_probe_read_user(&sin, sizeof(sin), uaddr)) {
			ar_drop(AR_DROP_READ_FAILED);
			return 0;
		}
		k.family = 4;
		__builtin_memcpy(k.addr, &sin.sin_addr, 4);
		__builtin_memcpy(port, &sin.sin_port, 2);
	} else if (family == AF_INET6) {
		struct sockaddr_in6 sin6 = {};
		if (alen < sizeof(sin6) || bpf_probe_read_user(&sin6, sizeof(sin6), uaddr)) {
			ar_drop(AR_DROP_READ_FAILED);
			return 0;
		}
		__u8 *a = (__u8 *)&sin6.sin6_addr;
		__builtin_memcpy(port, &sin6.sin6_port, 2);
		/* ::ffff:a.b.c.d is an IPv4 destination: the IPv4 entries apply */
		__u32 w0, w1, w2;
		__builtin_memcpy(&w0, a, 4);
		__builtin_memcpy(&w1, a + 4, 4);
		__builtin_memcpy(&w2, a + 8, 4);
		if (w0 == 0 && w1 == 0 && w2 == bpf_htonl(0xffff)) {
			k.family = 4;
			__builtin_memcpy(k.addr, a + 12, 4);
		} else {
			k.family = 6;
			__builtin_memcpy(k.addr, a, 16);
		}
	} else {
		return 0; /* AF_UNIX, AF_UNSPEC (UDP disconnect), …: not network egress */
	}
	k.prefixlen = 8 * (1 + 2 + 16);
	k.port[0] = port[0];
	k.port[1] = port[1];
	if (bpf_map_lookup_elem(&enforce_connect_allow, &k))
		return 0;
	k.port[0] = 0;
	k.port[1] = 0;
	if (bpf_map_lookup_elem(&enforce_connect_allow, &k))
		return 0;

	struct enf_scratch *s = enf_scratch();
	if (!s)
		return 0;
	s->rec.what = what;
	s->rec.rule = c->connect_rule;
	s->rec.family = family == AF_INET6 && k.family == 6 ? AF_INET6 : AF_INET;
	s->rec.port = ((__u16)port[0] << 8) | port[1];
	__builtin_memcpy(s->rec.addr, k.addr, 16);
	enf_kill_and_report(&s->rec);
	return 1;
}

SEC("tracepoint/syscalls/sys_enter_connect")
int enforce_connect(struct trace_event_raw_sys_enter *ctx)
{
	enf_dest(AR_ENF_CONNECT, (const void *)ctx->args[1], (__u32)ctx->args[2]);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_sendto")
int enforce_sendto(struct trace_event_raw_sys_enter *ctx)
{
	enf_dest(AR_ENF_SEND, (const void *)ctx->args[4], (__u32)ctx->args[5]);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_sendmsg")
int enforce_sendmsg(struct trace_event_raw_sys_enter *ctx)
{
	struct ar_enf_config *c = enf_cfg();
	if (!c || !c->connect_on || !enf_selected())
		return 0; /* before reading the msghdr: untraced senders pay two lookups */
	struct user_msghdr m = {};
	if (bpf_probe_read_user(&m, sizeof(m), (const void *)ctx->args[1]))
		return 0;
	enf_dest(AR_ENF_SEND, m.msg_name, (__u32)m.msg_namelen);
	return 0;
}

#define ENF_MMSG_MAX 8 /* messages of one sendmmsg checked (libuv batches UDP sends with it) */

SEC("tracepoint/syscalls/sys_enter_sendmmsg")
int enforce_sendmmsg(struct trace_event_raw_sys_enter *ctx)
{
	struct ar_enf_config *c = enf_cfg();
	if (!c || !c->connect_on || !enf_selected())
		return 0;
	struct mmsghdr *vec = (struct mmsghdr *)ctx->args[1];
	__u32 vlen = (__u32)ctx->args[2];
	for (__u32 i = 0; i < ENF_MMSG_MAX; i++) {
		if (i >= vlen)
			break;
		struct user_msghdr m = {};
		if (bpf_probe_read_user(&m, sizeof(m), &vec[i].msg_hdr))
			return 0;
		if (m.msg_name && enf_dest(AR_ENF_SEND, m.msg_name, (__u32)m.msg_namelen))
			return 0;
	}
	return 0;
}
