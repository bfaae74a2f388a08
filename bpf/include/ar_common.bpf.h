/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Shared by every agentrail BPF object (process, file, net, pipe, tls).
 *
 * Maps named ar_* are SHARED: each object declares them identically and the
 * addon creates them once (from the first object it loads) and hands the same
 * fd to every other object with bpf_map__reuse_fd() before load. So all
 * objects write into one ring buffer, read one config and one set of traced
 * pids/cgroups. See native/README.md.
 *
 * Every object has its own per-CPU drop counter array named <family>_drops,
 * indexed by enum ar_drop_reason; the addon finds it by the "_drops" suffix.
 * #define AR_DROPS_MAP <family>_drops before including this header to get it
 * declared together with ar_drop()/ar_reserve()/ar_output(), or declare your
 * own. The including object defines its own LICENSE.
 */
#ifndef AGENTRAIL_AR_COMMON_BPF_H
#define AGENTRAIL_AR_COMMON_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "agentrail_abi.h"


#define AR_PIDS_MAX 65536
#define AR_CGROUPS_MAX 4096

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 16 * 1024 * 1024); /* the addon resizes before load */
} ar_events SEC(".maps");

/* Traced processes (tgid). Children inherit (process.bpf.c, sched_process_fork). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, AR_PIDS_MAX);
	__type(key, __u32);
	__type(value, __u8);
} ar_pids SEC(".maps");

/* Traced cgroup v2 ids. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, AR_CGROUPS_MAX);
	__type(key, __u64);
	__type(value, __u8);
} ar_cgroups SEC(".maps");

/* Executable names (comm, NUL-padded) whose exec starts tracing: --comm in the
 * kernel, so untraced processes still pay only a lookup at exec. */
struct ar_comm_key {
	char comm[AR_COMM_LEN];
};
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, struct ar_comm_key);
	__type(value, __u8);
} ar_comms SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ar_config);
} ar_config SEC(".maps");

#define AR_ROUND8(x) (((x) + 7) & ~7u)

static __always_inline struct ar_config *ar_cfg(void)
{
	__u32 zero = 0;
	return bpf_map_lookup_elem(&ar_config, &zero);
}

/* Is this tgid traced? Called first in every program: untraced work pays a
 * config lookup and at most two hash lookups. */
static __always_inline bool ar_traced_tgid(__u32 tgid)
{
	struct ar_config *cfg = ar_cfg();
	if (!cfg || tgid == cfg->self_pid)
		return false;
	if (cfg->trace_all)
		return true;
	if (bpf_map_lookup_elem(&ar_pids, &tgid))
		return true;
	__u64 cg = bpf_get_current_cgroup_id();
	return bpf_map_lookup_elem(&ar_cgroups, &cg) != NULL;
}

static __always_inline bool ar_traced(void)
{
	return ar_traced_tgid(bpf_get_current_pid_tgid() >> 32);
}

static __always_inline bool ar_is_traced(void)
{
	return ar_traced();
}

static __always_inline void ar_fill_hdr(struct ar_hdr *h, __u16 op, __u32 size)
{
	__u64 pt = bpf_get_current_pid_tgid();
	h->op = op;
	h->version = AR_ABI_VERSION;
	h->size = size;
	h->ktime_ns = bpf_ktime_get_ns();
	h->pid = pt >> 32;
	h->tid = (__u32)pt;
	h->cgroup_id = bpf_get_current_cgroup_id();
}

/* Wakeup policy: waking the poll thread for every record costs more than
 * the record. Records are submitted without a wakeup until AR_WAKEUP_BYTES
 * (or a quarter of a small ring) are pending; the poll thread also drains
 * every 10 ms, which bounds the latency of a quiet stream. */
#define AR_WAKEUP_BYTES (256 * 1024)

static __always_inline __u64 ar_wakeup_flags(void)
{
	__u64 avail = bpf_ringbuf_query(&ar_events, BPF_RB_AVAIL_DATA);
	if (avail >= AR_WAKEUP_BYTES || avail >= bpf_ringbuf_query(&ar_events, BPF_RB_RING_SIZE) / 4)
		return BPF_RB_FORCE_WAKEUP;
	return BPF_RB_NO_WAKEUP;
}

/* Submit a record reserved with ar_reserve(). */
static __always_inline void ar_submit(void *rec)
{
	bpf_ringbuf_submit(rec, ar_wakeup_flags());
}

#ifdef AR_DROPS_MAP
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, AR_DROP_REASON_MAX);
	__type(key, __u32);
	__type(value, __u64);
} AR_DROPS_MAP SEC(".maps");

static __always_inline void ar_drop(__u32 reason)
{
	__u64 *c = bpf_map_lookup_elem(&AR_DROPS_MAP, &reason);
	if (c)
		*c += 1; /* per-CPU: no atomics needed */
}

/* Reserve a fixed-size record; counts a drop when the ring buffer is full. */
static __always_inline void *ar_reserve(__u32 size)
{
	void *p = bpf_ringbuf_reserve(&ar_events, size, 0);
	if (!p)
		ar_drop(AR_DROP_RINGBUF_FULL);
	return p;
}

/* Copy a variable-size record (built in a scratch map) into the ring buffer. */
static __always_inline int ar_output(void *data, __u64 size)
{
	long err = bpf_ringbuf_output(&ar_events, data, size, ar_wakeup_flags());
	if (err) {
		ar_drop(AR_DROP_RINGBUF_FULL);
		return -1;
	}
	return 0;
}

#endif /* AR_DROPS_MAP */

/* --- fd helpers ------------------------------------------------------------ */

#ifndef S_IFMT
#define S_IFMT 00170000
#define S_IFSOCK 0140000
#define S_IFREG 0100000
#define S_IFIFO 0010000
#endif

/* struct file of an fd of the current task, or NULL. */
static __always_inline struct file *ar_fd_file(int fd)
{
	if (fd < 0)
		return NULL;
	struct task_struct *task = (struct task_struct *)bpf_get_current_task_btf();
	struct files_struct *files = BPF_CORE_READ(task, files);
	if (!files)
		return NULL;
	struct fdtable *fdt = BPF_CORE_READ(files, fdt);
	if (!fdt)
		return NULL;
	unsigned int max = BPF_CORE_READ(fdt, max_fds);
	if ((unsigned int)fd >= max)
		return NULL;
	struct file **fdarr = BPF_CORE_READ(fdt, fd);
	struct file *f = NULL;
	bpf_probe_read_kernel(&f, sizeof(f), &fdarr[fd]);
	return f;
}

static __always_inline __u32 ar_file_kind(struct file *f, __u64 *ino)
{
	if (!f)
		return AR_FD_UNKNOWN;
	struct inode *inode = BPF_CORE_READ(f, f_inode);
	if (!inode)
		return AR_FD_UNKNOWN;
	if (ino)
		*ino = BPF_CORE_READ(inode, i_ino);
	__u16 mode = BPF_CORE_READ(inode, i_mode);
	switch (mode & S_IFMT) {
	case S_IFREG:
		return AR_FD_FILE;
	case S_IFSOCK:
		return AR_FD_SOCKET;
	case S_IFIFO:
		return AR_FD_PIPE;
	default:
		return AR_FD_OTHER;
	}
}

#endif /* AGENTRAIL_AR_COMMON_BPF_H */
