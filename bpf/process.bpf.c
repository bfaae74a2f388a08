/* SPDX-License-Identifier: Apache-2.0 */
/* Process lifecycle: exec, fork/clone (pid-map inheritance), exit, and
 * executable mmaps (so the TLS attacher can find newly mapped libssl). */
#define AR_DROPS_MAP process_drops
#include "ar_common.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define PROT_EXEC 0x4

SEC("tp_btf/sched_process_exec")
int BPF_PROG(handle_exec, struct task_struct *task, pid_t old_pid, struct linux_binprm *bprm)
{
	if (!ar_traced()) {
		/* --comm: the new image's name selects the process (and, by fork, its children). */
		struct ar_comm_key k = {};
		bpf_get_current_comm(k.comm, sizeof(k.comm));
		if (!bpf_map_lookup_elem(&ar_comms, &k))
			return 0;
		__u32 tgid = bpf_get_current_pid_tgid() >> 32;
		struct ar_config *cfg = ar_cfg();
		if (!cfg || tgid == cfg->self_pid)
			return 0;
		__u8 one = 1;
		if (bpf_map_update_elem(&ar_pids, &tgid, &one, BPF_ANY)) {
			ar_drop(AR_DROP_MAP_FULL);
			return 0;
		}
	}
	struct ar_proc_exec *r = ar_reserve(sizeof(*r));
	if (!r)
		return 0;
	__builtin_memset(r, 0, sizeof(*r));
	ar_fill_hdr(&r->hdr, AR_OP_PROC_EXEC, sizeof(*r));
	r->ppid = BPF_CORE_READ(task, real_parent, tgid);
	r->uid = BPF_CORE_READ(task, cred, uid.val);
	r->gid = BPF_CORE_READ(task, cred, gid.val);
	r->argc = BPF_CORE_READ(bprm, argc);
	bpf_get_current_comm(r->comm, sizeof(r->comm));

	const char *fname = BPF_CORE_READ(bprm, filename);
	long n = bpf_probe_read_kernel_str(r->filename, sizeof(r->filename), fname);
	if (n < 0) {
		ar_drop(AR_DROP_READ_FAILED);
		n = 0;
	}
	r->filename_len = n;
	if (n == sizeof(r->filename))
		r->flags |= AR_F_PATH_TRUNCATED;

	/* argv lives in the new image's memory: mm->arg_start..arg_end. */
	struct mm_struct *mm = BPF_CORE_READ(task, mm);
	unsigned long a0 = BPF_CORE_READ(mm, arg_start);
	unsigned long a1 = BPF_CORE_READ(mm, arg_end);
	unsigned long len = a1 > a0 ? a1 - a0 : 0;
	long rd;
	if (len >= AR_ARGS_MAX) {
		if (len > AR_ARGS_MAX)
			r->flags |= AR_F_ARGS_TRUNCATED;
		rd = bpf_probe_read_user(r->args, AR_ARGS_MAX, (void *)a0);
		len = AR_ARGS_MAX;
	} else {
		rd = bpf_probe_read_user(r->args, len & (AR_ARGS_MAX - 1), (void *)a0);
	}
	if (rd < 0) {
		ar_drop(AR_DROP_READ_FAILED);
		len = 0;
	}
	r->args_len = len;
	/* rare, and the TLS attacher must probe a new binary or libssl before
	 * its first SSL call: wake the poll thread now */
	bpf_ringbuf_submit(r, BPF_RB_FORCE_WAKEUP);
	return 0;
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(handle_fork, struct task_struct *parent, struct task_struct *child)
{
	__u32 ptgid = BPF_CORE_READ(parent, tgid);
	if (!ar_traced_tgid(ptgid))
		return 0;
	__u32 ctgid = BPF_CORE_READ(child, tgid);
	__u32 is_thread = ctgid == ptgid;
	if (!is_thread) {
		/* Children inherit tracing (unless traced via trace_all/cgroup only:
		 * then the cgroup or trace_all already covers them). */
		__u8 one = 1;
		if (bpf_map_lookup_elem(&ar_pids, &ptgid) &&
		    bpf_map_update_elem(&ar_pids, &ctgid, &one, BPF_ANY))
			ar_drop(AR_DROP_MAP_FULL);
	}
	struct ar_proc_fork *r = ar_reserve(sizeof(*r));
	if (!r)
		return 0;
	ar_fill_hdr(&r->hdr, AR_OP_PROC_FORK, sizeof(*r));
	r->hdr.pid = ptgid;
	r->hdr.tid = BPF_CORE_READ(parent, pid);
	r->child_pid = ctgid;
	r->child_tid = BPF_CORE_READ(child, pid);
	r->is_thread = is_thread;
	r->_pad = 0;
	ar_submit(r);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(handle_exit, struct task_struct *task)
{
	__u32 tgid = BPF_CORE_READ(task, tgid);
	if (!ar_traced_tgid(tgid))
		return 0;
	/* signal->live was decremented before this tracepoint: 0 = last thread. */
	int live = BPF_CORE_READ(task, signal, live.counter);
	__u32 is_thread = live != 0;
	struct ar_proc_exit *r = ar_reserve(sizeof(*r));
	if (r) {
		ar_fill_hdr(&r->hdr, AR_OP_PROC_EXIT, sizeof(*r));
		r->ppid = BPF_CORE_READ(task, real_parent, tgid);
		r->exit_code = BPF_CORE_READ(task, exit_code);
		r->is_thread = is_thread;
		r->_pad = 0;
		ar_submit(r);
	}
	if (!is_thread)
		bpf_map_delete_elem(&ar_pids, &tgid);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_mmap")
int handle_mmap(struct trace_event_raw_sys_enter *ctx)
{
	__u64 prot = ctx->args[2];
	int fd = (int)ctx->args[4];
	if (!(prot & PROT_EXEC) || fd < 0)
		return 0;
	if (!ar_traced())
		return 0;
	struct file *f = ar_fd_file(fd);
	if (!f)
		return 0;
	struct inode *inode = BPF_CORE_READ(f, f_inode);
	struct ar_proc_mmap_exec *r = ar_reserve(sizeof(*r));
	if (!r)
		return 0;
	ar_fill_hdr(&r->hdr, AR_OP_PROC_MMAP_EXEC, sizeof(*r));
	r->dev = BPF_CORE_READ(inode, i_sb, s_dev);
	r->ino = BPF_CORE_READ(inode, i_ino);
	r->fd = fd;
	r->prot = prot;
	/* rare, and the TLS attacher must probe a new binary or libssl before
	 * its first SSL call: wake the poll thread now */
	bpf_ringbuf_submit(r, BPF_RB_FORCE_WAKEUP);
	return 0;
}
