/* SPDX-License-Identifier: Apache-2.0 */
/* Benchmark-only object (never in bpf/.output, never loaded by the sensor):
 * each getppid() of a traced process emits BURST small records (48 bytes,
 * shaped like ar_proc_fork with child_pid = 0), so the cost of producing a
 * record is far below a syscall and the consumer side (ring buffer → poll
 * thread → batch → JS) can be driven past its capacity on a small machine. */
#define AR_DROPS_MAP burst_drops
#include "ar_common.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define BURST 64

SEC("tracepoint/syscalls/sys_enter_getppid")
int handle_getppid(void *ctx)
{
	if (!ar_traced())
		return 0;
	for (int i = 0; i < BURST; i++) {
		struct ar_proc_fork *r = ar_reserve(sizeof(*r));
		if (!r)
			return 0;
		ar_fill_hdr(&r->hdr, AR_OP_PROC_FORK, sizeof(*r));
		r->child_pid = 0;
		r->child_tid = i;
		r->is_thread = 0;
		r->_pad = 0;
		ar_submit(r);
	}
	return 0;
}
