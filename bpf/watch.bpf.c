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
 * With --latency, three more programs (user space turns their autoload on)
 * time every fault on the machine into a per-CPU histogram that user space
 * reads at scrape time; no record per fault.
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
#include "vmatrace/watch_events.h"

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

/* ---- fault latency (--latency) ---- */

#define USER_ADDR_LIMIT (1ULL << 56)

const volatile bool use_task_storage = true; /* task storage in perf_event programs */

/* When the running fault of each thread began, and at which page. */
struct fault_start {
	__u64 ts;
	__u64 page;
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct fault_start);
} fault_starts SEC(".maps");

/* Without task storage in perf_event programs: by thread id. LRU, so that
 * the entries of threads gone mid-fault give way. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct fault_start);
} fault_starts_by_tid SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, VT_WATCH_FAULT_TYPES);
	__type(key, __u32);
	__type(value, struct vt_watch_latency);
} latency SEC(".maps");

static __always_inline struct fault_start *fault_start(bool create)
{
	struct fault_start zero = {};
	__u32 tid;

	if (use_task_storage)
		return bpf_task_storage_get(&fault_starts, bpf_get_current_task_btf(), 0,
					    create ? BPF_LOCAL_STORAGE_GET_F_CREATE : 0);
	tid = (__u32)bpf_get_current_pid_tgid();
	if (create && bpf_map_update_elem(&fault_starts_by_tid, &tid, &zero, BPF_NOEXIST) &&
	    !bpf_map_lookup_elem(&fault_starts_by_tid, &tid))
		return NULL;
	return bpf_map_lookup_elem(&fault_starts_by_tid, &tid);
}

static __always_inline void fault_begins(unsigned long address)
{
	struct fault_start *f = fault_start(true);

	/* A fault that never completed (SIGSEGV, fixup) is simply overwritten. */
	if (f) {
		f->page = address >> 12;
		f->ts = bpf_ktime_get_ns();
	}
}

SEC("tp_btf/page_fault_user")
int BPF_PROG(watch_pf_user, unsigned long address, struct pt_regs *regs, unsigned long error_code)
{
	fault_begins(address);
	return 0;
}

SEC("tp_btf/page_fault_kernel")
int BPF_PROG(watch_pf_kernel, unsigned long address, struct pt_regs *regs, unsigned long error_code)
{
	/* Kernel addresses never reach mm_account_fault: no end to match. */
	if (address < USER_ADDR_LIMIT)
		fault_begins(address);
	return 0;
}

/* ceil(log2(v)) for v >= 1, without a loop the verifier must unroll. */
static __always_inline __u32 log2_ceil(__u64 v)
{
	__u32 r = 0, shift;

	if (v <= 1)
		return 0;
	v--;
	shift = (v > 0xffffffffULL) << 5; v >>= shift; r |= shift;
	shift = (v > 0xffff) << 4; v >>= shift; r |= shift;
	shift = (v > 0xff) << 3; v >>= shift; r |= shift;
	shift = (v > 0xf) << 2; v >>= shift; r |= shift;
	shift = (v > 0x3) << 1; v >>= shift; r |= shift;
	r |= (v >> 1);
	return r + 1;
}

static __always_inline int fault_ends(struct bpf_perf_event_data *ctx, __u32 type)
{
	struct vt_watch_latency *h = bpf_map_lookup_elem(&latency, &type);
	struct fault_start *f = fault_start(false);
	__u64 lat, b;

	if (!h)
		return 0;
	if (!f || !f->ts || f->page != ctx->addr >> 12) {
		h->unmatched++;
		return 0;
	}
	lat = bpf_ktime_get_ns() - f->ts;
	f->ts = 0;
	b = log2_ceil(lat);
	/* 64-bit and pinned to one register: else clang bounds a copy of b and
	 * indexes with another, which the 6.1 verifier calls unbounded. */
	barrier_var(b);
	if (b >= VT_WATCH_LATENCY_BUCKETS)
		b = VT_WATCH_LATENCY_BUCKETS - 1;
	barrier_var(b);
	h->buckets[b]++;
	h->sum_ns += lat;
	return 0;
}

SEC("perf_event")
int watch_fault_min(struct bpf_perf_event_data *ctx)
{
	return fault_ends(ctx, VT_WATCH_FAULT_MINOR);
}

SEC("perf_event")
int watch_fault_maj(struct bpf_perf_event_data *ctx)
{
	return fault_ends(ctx, VT_WATCH_FAULT_MAJOR);
}
