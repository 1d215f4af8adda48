// SPDX-License-Identifier: GPL-2.0
/*
 * vmatrace watch, kernel side: one record per process that is gone, with the
 * thread group's final fault totals. User space polls /proc/PID/stat for the
 * processes that live (costing faults nothing); this catches the faults a
 * process took between its last poll and its end.
 *
 * One program, tp_btf/sched_process_free, with direct BTF-typed loads only:
 * no kfuncs, no probe reads, no tracefs; BPF ring buffer (5.8+), tp_btf
 * (5.5+). Loads on 5.15 and later, also under lockdown=confidentiality.
 *
 * Why sched_process_free of the group leader: the leader is released last
 * (release_task delays a zombie leader while other threads remain), and its
 * __exit_signal adds its own counts to signal->min_flt/maj_flt, where every
 * other thread's counts already went at their release (kernel/exit.c). So at
 * the leader's free (after the RCU grace period that follows release_task)
 * signal holds the group's complete totals, and p->signal and p->cgroups
 * are still valid (dropped in __put_task_struct, after this tracepoint).
 * At sched_process_exit, by contrast, sibling threads of an exit_group may
 * still be on their way to release_task, their counts in neither place.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "../user/watch/exit_record.h"

char LICENSE[] SEC("license") = "GPL";

#define PF_KTHREAD 0x00200000

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} exits SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, VT_WATCH_LOST_MAX);
	__type(key, __u32);
	__type(value, __u64);
} lost SEC(".maps");

SEC("tp_btf/sched_process_free")
int BPF_PROG(on_process_free, struct task_struct *p)
{
	/* Only the thread group's leader (after a non-leader's exec the old
	 * leader's pid is no longer the tgid: de_thread, exchange_tids). */
	if (p->pid != p->tgid || (p->flags & PF_KTHREAD))
		return 0;
	/* User space reads at its own pace: no wakeup per record. */
	struct vt_exit_record *r = bpf_ringbuf_reserve(&exits, sizeof(*r), 0);
	if (!r) {
		__u32 key = VT_WATCH_LOST_RINGBUF;
		__u64 *n = bpf_map_lookup_elem(&lost, &key);
		if (n)
			(*n)++;
		return 0;
	}
	struct signal_struct *sig = p->signal;
	r->tgid = p->tgid;
	r->pad = 0;
	r->start_boottime = p->start_boottime;
	r->min_flt = sig->min_flt;
	r->maj_flt = sig->maj_flt;
	r->cgroup_id = p->cgroups->dfl_cgrp->kn->id;
	__builtin_memcpy(r->comm, p->comm, sizeof(r->comm));
	bpf_ringbuf_submit(r, BPF_RB_NO_WAKEUP);
	return 0;
}
