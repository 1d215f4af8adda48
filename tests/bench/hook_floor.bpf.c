// SPDX-License-Identifier: GPL-2.0
/*
 * Floors under vmatrace's hooks: what a hook costs with (almost) nothing on it.
 *
 * The fault-entry program (bpf/vmatrace.bpf.c, on_pf_user): what the
 * page_fault_user hook costs every fault on the machine with a program that
 * does nothing (`empty`), and with one that only asks "is this the traced
 * process?" (`tgid_test`), which any tracer of one process must ask on a hook
 * that runs for all of them. With `count_completion` on the target's
 * page-fault perf events, counting on vmatrace's fault hooks; `least_entry`
 * and `least_completion`, the least that records what vmatrace records of a
 * fault (tests/bench/fault_windows.cpp attaches those).
 *
 * An exit hook for the address-space syscalls that the rest of the machine
 * does not pay for, on kernels that refuse fentry (README, Overhead): the
 * kernel's mmap_lock tracepoint, which only a task taking its mmap_lock runs,
 * tested for the target's write locks (`lock_hook`); and the same with a BPF
 * task work (bpf_task_work_schedule_resume, 6.18+) that runs when the
 * syscall returns to user space, where the syscall's return value is in the
 * registers and the VMA iterator can walk again (`task_work`).
 *
 * scripts/bench.sh runs them beside another process, and around the syscall
 * storm.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "vmatrace/events.h"

const volatile __u32 target_tgid = 0;

__u64 target_faults = 0;
__u64 write_locks = 0, works_scheduled = 0, schedule_failed = 0, works_ran = 0, syscall_exits = 0;

SEC("tp_btf/page_fault_user")
int BPF_PROG(empty)
{
	return 0;
}

SEC("tp_btf/page_fault_user")
int BPF_PROG(tgid_test)
{
	if (bpf_get_current_pid_tgid() >> 32 == target_tgid)
		__sync_fetch_and_add(&target_faults, 1);
	return 0;
}

/* With tgid_test, a counting program on vmatrace's fault hooks: this one on
 * the target's page-fault perf events (fault_windows.cpp). */
__u64 target_completions = 0;

SEC("perf_event")
int count_completion(struct bpf_perf_event_data *ctx)
{
	if (bpf_get_current_pid_tgid() >> 32 == target_tgid)
		__sync_fetch_and_add(&target_completions, 1);
	return 0;
}

/*
 * The least a program can do and still record what vmatrace records of each of
 * the target's faults (address, ip, error code, minor/major, latency): at
 * entry, the tgid test, a clock and the fault kept in a per-CPU slot; at
 * completion, the tgid test, a clock and one vt_fault_event written to a ring
 * buffer. No pairing by thread, no loss accounting beyond a count, no
 * shedding: a floor, not a tracer (a fault that sleeps and completes on
 * another CPU pairs with the wrong entry here).
 */
struct least_pending {
	__u64 ts, addr, ip, error_code;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct least_pending);
} least_slot SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 16 << 20);
} least_ring SEC(".maps");

__u64 least_lost = 0;

SEC("tp_btf/page_fault_user")
int BPF_PROG(least_entry, unsigned long address, struct pt_regs *regs, unsigned long error_code)
{
	struct least_pending *p;
	__u32 zero = 0;

	if (bpf_get_current_pid_tgid() >> 32 != target_tgid)
		return 0;
	p = bpf_map_lookup_elem(&least_slot, &zero);
	if (!p)
		return 0;
	p->ts = bpf_ktime_get_ns();
	p->addr = address;
	p->ip = regs->ip;
	p->error_code = error_code;
	return 0;
}

SEC("perf_event")
int least_completion(struct bpf_perf_event_data *ctx)
{
	__u64 id = bpf_get_current_pid_tgid(), now;
	struct vt_fault_event *e;
	struct least_pending *p;
	__u32 zero = 0;

	if (id >> 32 != target_tgid)
		return 0;
	p = bpf_map_lookup_elem(&least_slot, &zero);
	if (!p)
		return 0;
	now = bpf_ktime_get_ns();
	e = bpf_ringbuf_reserve(&least_ring, sizeof(*e), 0);
	if (!e) {
		__sync_fetch_and_add(&least_lost, 1);
		return 0;
	}
	e->hdr.ts = now;
	e->hdr.pid = id >> 32;
	e->hdr.tid = (__u32)id;
	e->hdr.kind = VT_EV_FAULT;
	e->hdr.size = sizeof(*e);
	e->hdr.cpu = bpf_get_smp_processor_id();
	e->addr = ctx->addr;
	e->ip = p->ip;
	e->error_code = p->error_code;
	e->flags = 0;
	e->latency_ns = now - p->ts;
	e->stack_id = -1;
	e->_pad = 0;
	bpf_ringbuf_submit(e, BPF_RB_NO_WAKEUP);
	return 0;
}

extern int bpf_task_work_schedule_resume_impl(struct task_struct *task, struct bpf_task_work *tw,
					      void *map__map, bpf_task_work_callback_t callback,
					      void *aux__prog) __ksym __weak;

struct thread_work {
	struct bpf_task_work tw;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct thread_work);
} works SEC(".maps");

/* The 6.14+ prototype (before, a memcg_path came second: hook_floor.cpp
 * refuses those kernels). */
static __always_inline bool target_write_lock(bool write, bool success)
{
	if (!write || !success || bpf_get_current_pid_tgid() >> 32 != target_tgid)
		return false;
	__sync_fetch_and_add(&write_locks, 1);
	return true;
}

SEC("tp_btf/mmap_lock_acquire_returned")
int BPF_PROG(lock_hook, struct mm_struct *mm, bool write, bool success)
{
	target_write_lock(write, success);
	return 0;
}

/* Runs in the task, on its way back to user space: the syscall is over. */
static int at_return(struct bpf_map *map, void *key, void *value)
{
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());

	__sync_fetch_and_add(&works_ran, 1);
	if ((long)regs->orig_ax >= 0) /* a syscall's return, not a fault's */
		__sync_fetch_and_add(&syscall_exits, 1);
	return 0;
}

SEC("tp_btf/mmap_lock_acquire_returned")
int BPF_PROG(task_work, struct mm_struct *mm, bool write, bool success)
{
	struct thread_work zero = {}, *w;
	__u32 tid = (__u32)bpf_get_current_pid_tgid();

	if (!target_write_lock(write, success))
		return 0;
	w = bpf_map_lookup_elem(&works, &tid);
	if (!w) {
		bpf_map_update_elem(&works, &tid, &zero, BPF_NOEXIST);
		w = bpf_map_lookup_elem(&works, &tid);
		if (!w)
			return 0;
	}
	if (bpf_task_work_schedule_resume_impl(bpf_get_current_task_btf(), &w->tw, &works, at_return,
					       NULL))
		__sync_fetch_and_add(&schedule_failed, 1);
	else
		__sync_fetch_and_add(&works_scheduled, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
