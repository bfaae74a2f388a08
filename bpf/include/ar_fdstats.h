/* SPDX-License-Identifier: Apache-2.0 */
/* Key/value of file.bpf.c's `file_fdstats` hash map. Shared with the addon,
 * which drains the map for the periodic flush (AR_FLUSH_PERIODIC). */
#ifndef AGENTRAIL_AR_FDSTATS_H
#define AGENTRAIL_AR_FDSTATS_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

struct ar_fdkey {
	__u32 tgid;
	__s32 fd;
};

struct ar_fdstat {
	__u64 read_bytes;
	__u64 write_bytes;
	__u64 first_ns;
	__u64 last_ns;
	__u64 ino;
	__u64 cgroup_id;
	__u32 read_calls;
	__u32 write_calls;
	__u32 fd_kind;
	__u32 tid;      /* last thread that did I/O */
};

#define AR_FDSTATS_MAX 16384 /* iterated at exec/exit of traced processes: keep it small */

#endif
