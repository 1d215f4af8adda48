// SPDX-License-Identifier: GPL-2.0
/*
 * vmatrace kernel side: address-space syscalls, task lifecycle and page faults
 * of the traced processes, streamed through one ring buffer.
 *
 * Every hook has a fallback that needs neither kprobes, fentry nor tracefs, so
 * this loads on the minimal kernels described in shared/kernel-notes.md:
 *   fentry/fexit __x64_sys_NAME, else tp/syscalls/sys_{enter,exit}_NAME,
 *   else tp_btf/sys_enter, tp_btf/sys_exit  address-space syscalls
 *   tp_btf/page_fault_user, _kernel         fault entry (error code, ip)
 *   perf_event PAGE_FAULTS_MIN / _MAJ       fault completion (exact address)
 *   tp_btf/sched_process_{exec,fork,exit}   image, children, exit
 *
 * Programs that take VMA snapshots come in two builds, `_snap` (the task VMA
 * iterator kfuncs, 6.7+) and plain (bpf_find_vma); user space loads one of
 * each pair (user/bpf/session.cpp), so no verifier sees a kfunc its kernel
 * lacks.
 */
#include "common.bpf.h"
#include "path.bpf.h"
#include "vma_snapshot.bpf.h"

char LICENSE[] SEC("license") = "GPL";

/* ---- address-space syscalls ---- */

static __always_inline __u16 syscall_of(long nr)
{
	/* x86-64 numbers; 32-bit compat syscalls are not traced. */
	switch (nr) {
	case 9: return VT_SC_MMAP;
	case 10: return VT_SC_MPROTECT;
	case 11: return VT_SC_MUNMAP;
	case 12: return VT_SC_BRK;
	case 25: return VT_SC_MREMAP;
	case 28: return VT_SC_MADVISE;
	case 30: return VT_SC_SHMAT;
	case 67: return VT_SC_SHMDT;
	case 149: return VT_SC_MLOCK;
	case 150: return VT_SC_MUNLOCK;
	case 151: return VT_SC_MLOCKALL;
	case 152: return VT_SC_MUNLOCKALL;
	case 157: return VT_SC_PRCTL;
	case 325: return VT_SC_MLOCK2;
	case 329: return VT_SC_PKEY_MPROTECT;
	case 462: return VT_SC_MSEAL;
	case 82:  /* rename */
	case 87:  /* unlink */
	case 263: /* unlinkat */
	case 264: /* renameat */
	case 316: /* renameat2 */
		return VT_SC_PATH_CHANGE;
	default: return 0;
	}
}

/* Saves a traced thread's syscall arguments for sys_exit. `seeding`: this
 * build answers vmatrace's seed requests (needs bpf_task_from_pid). */
static __always_inline int sys_enter(__u16 sc, __u64 a0, __u64 a1, __u64 a2, __u64 a3, __u64 a4,
				     __u64 a5, const bool seeding)
{
	struct thread_state *t;

	if (seeding && sc == VT_SC_MADVISE && a0 == VT_SEED_MAGIC && current_tgid() == self_tgid) {
		seed(a1);
		return 0;
	}
	if (!is_target(current_tgid()))
		return 0;
	if (sc == VT_SC_PRCTL && a0 != PR_SET_VMA)
		return 0;
	t = thread_state(true);
	if (!t) {
		count_lost(VT_LOST_SYSCALL_MAP_FULL);
		return 0;
	}
	t->sc.args[0] = a0;
	t->sc.args[1] = a1;
	t->sc.args[2] = a2;
	t->sc.args[3] = a3;
	t->sc.args[4] = a4;
	t->sc.args[5] = a5;
	t->sc.sc = sc;
	t->sc.ts = bpf_ktime_get_ns();
	/* brk has one argument: keep the old break where a second would be, so
	 * that a shrink's snapshot at exit can reach the end of the old heap. */
	if (sc == VT_SC_BRK) {
		struct mm_struct *mm = bpf_get_current_task_btf()->mm;

		t->sc.args[1] = mm ? mm->brk : 0;
	}
	return 0;
}

static __always_inline bool maps_new_range(__u16 sc)
{
	return sc == VT_SC_MMAP || sc == VT_SC_MREMAP || sc == VT_SC_SHMAT;
}

/* Emits the syscall's record, after the kernel's VMAs it changed: snapshots
 * where this build has them (the last one carries the record in its batch),
 * else the VMA a new mapping landed in. */
static __always_inline int sys_exit(long ret, const bool snapshots)
{
	struct inflight_syscall *s;
	struct thread_state *t;
	struct vt_syscall_event *e;
	struct batch *b;
	__u64 now, dur;

	t = thread_state(false);
	if (!t || !t->sc.ts)
		return 0;
	s = &t->sc;
	now = bpf_ktime_get_ns();
	if (s->sc == VT_SC_PATH_CHANGE) {
		if (ret == 0 && snapshots)
			snapshot_current_range(current_tgid(), 0, ~0ULL, s->sc, now, 0);
		s->ts = 0;
		return 0;
	}
	b = batch_area();
	if (!b) {
		s->ts = 0;
		return 0;
	}
	e = &b->syscall;
	fill_hdr(&e->hdr, VT_EV_SYSCALL, sizeof(*e), now);
	e->sc = s->sc;
	e->flags = 0;
	dur = now - s->ts;
	e->duration_ns = dur > 0xffffffffULL ? 0xffffffffU : dur;
	e->ret = ret;
	__builtin_memcpy(e->args, s->args, sizeof(e->args));
	b->has_syscall = 1;
	/* VMA records go first so that the syscall line can carry its file. */
	if (snapshots)
		snapshot_after(s, ret, now);
	else if (maps_new_range(s->sc) && ret >= 0)
		emit_vma(ret, VT_VMA_MAPPED, now);
	if (b->has_syscall) {
		b->has_syscall = 0;
		if (bpf_ringbuf_output(&events, e, sizeof(*e), wake_flags()))
			count_lost(VT_LOST_RINGBUF_SYSCALL);
	}
	s->ts = 0;
	return 0;
}

/*
 * Three ways in (the third, fentry, below). Raw tp_btf/sys_enter and sys_exit need no tracefs, but run on
 * every syscall of every process. Per-syscall tracepoints (tp/syscalls/...,
 * tracefs) run only for the syscalls vmatrace traces: the rest of the machine
 * pays only the kernel's bitmap test. User space loads one family.
 */
static __always_inline int raw_enter(struct pt_regs *regs, long id, const bool seeding)
{
	__u16 sc = syscall_of(id);

	if (!sc)
		return 0;
	return sys_enter(sc, regs->di, regs->si, regs->dx, regs->r10, regs->r8, regs->r9, seeding);
}

SEC("tp_btf/sys_enter")
int BPF_PROG(on_sys_enter, struct pt_regs *regs, long id)
{
	return raw_enter(regs, id, false);
}

SEC("tp_btf/sys_enter")
int BPF_PROG(on_sys_enter_snap, struct pt_regs *regs, long id)
{
	return raw_enter(regs, id, true);
}

SEC("tp_btf/sys_exit")
int BPF_PROG(on_sys_exit, struct pt_regs *regs, long ret)
{
	return syscall_of(regs->orig_ax) ? sys_exit(ret, false) : 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(on_sys_exit_snap, struct pt_regs *regs, long ret)
{
	return syscall_of(regs->orig_ax) ? sys_exit(ret, true) : 0;
}

/* syscalls:sys_enter_NAME's args and sys_exit_NAME's ret sit where these
 * structs have them (after the common header and the syscall number). An
 * event carries only the syscall's own arguments: reading past them makes the
 * kernel refuse the attach (EACCES), so only the first `n` are read. */
#define TP_ARG(ctx, n, i) ((i) < (n) ? (ctx)->args[i] : 0)
#define TP_ENTER(ctx, sc, n, seeding)                                                        \
	sys_enter(sc, TP_ARG(ctx, n, 0), TP_ARG(ctx, n, 1), TP_ARG(ctx, n, 2), TP_ARG(ctx, n, 3), \
		  TP_ARG(ctx, n, 4), TP_ARG(ctx, n, 5), seeding)

/* Every sys_exit_NAME program tail-calls the one handler loaded (plain or
 * _snap): the verifier checks the snapshot code once, not once per syscall. */
struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} exit_handler SEC(".maps");

SEC("tp/syscalls/sys_exit_mmap")
int tp_exit_handler(struct trace_event_raw_sys_exit *ctx)
{
	return sys_exit(ctx->ret, false);
}

SEC("tp/syscalls/sys_exit_mmap")
int tp_exit_handler_snap(struct trace_event_raw_sys_exit *ctx)
{
	return sys_exit(ctx->ret, true);
}

#define SYSCALL_TRACEPOINTS(name, sc, nargs)                                            \
	SEC("tp/syscalls/sys_enter_" #name)                                             \
	int tp_enter_##name(struct trace_event_raw_sys_enter *ctx)                      \
	{                                                                               \
		return TP_ENTER(ctx, sc, nargs, false);                                 \
	}                                                                               \
	SEC("tp/syscalls/sys_exit_" #name)                                              \
	int tp_exit_##name(struct trace_event_raw_sys_exit *ctx)                        \
	{                                                                               \
		bpf_tail_call(ctx, &exit_handler, 0);                                   \
		return 0;                                                               \
	}

SYSCALL_TRACEPOINTS(mmap, VT_SC_MMAP, 6)
SYSCALL_TRACEPOINTS(mprotect, VT_SC_MPROTECT, 3)
SYSCALL_TRACEPOINTS(munmap, VT_SC_MUNMAP, 2)
SYSCALL_TRACEPOINTS(brk, VT_SC_BRK, 1)
SYSCALL_TRACEPOINTS(mremap, VT_SC_MREMAP, 5)
SYSCALL_TRACEPOINTS(madvise, VT_SC_MADVISE, 3)
SYSCALL_TRACEPOINTS(shmat, VT_SC_SHMAT, 3)
SYSCALL_TRACEPOINTS(shmdt, VT_SC_SHMDT, 1)
SYSCALL_TRACEPOINTS(mlock, VT_SC_MLOCK, 2)
SYSCALL_TRACEPOINTS(munlock, VT_SC_MUNLOCK, 2)
SYSCALL_TRACEPOINTS(mlockall, VT_SC_MLOCKALL, 1)
SYSCALL_TRACEPOINTS(munlockall, VT_SC_MUNLOCKALL, 0)
SYSCALL_TRACEPOINTS(prctl, VT_SC_PRCTL, 5)
SYSCALL_TRACEPOINTS(mlock2, VT_SC_MLOCK2, 3)
SYSCALL_TRACEPOINTS(pkey_mprotect, VT_SC_PKEY_MPROTECT, 4)
SYSCALL_TRACEPOINTS(mseal, VT_SC_MSEAL, 3)
SYSCALL_TRACEPOINTS(rename, VT_SC_PATH_CHANGE, 2)
SYSCALL_TRACEPOINTS(unlink, VT_SC_PATH_CHANGE, 1)
SYSCALL_TRACEPOINTS(unlinkat, VT_SC_PATH_CHANGE, 3)
SYSCALL_TRACEPOINTS(renameat, VT_SC_PATH_CHANGE, 4)
SYSCALL_TRACEPOINTS(renameat2, VT_SC_PATH_CHANGE, 5)

/* vmatrace's own seed request comes through madvise. */
SEC("tp/syscalls/sys_enter_madvise")
int tp_enter_madvise_seed(struct trace_event_raw_sys_enter *ctx)
{
	return TP_ENTER(ctx, VT_SC_MADVISE, 3, true);
}

/*
 * The third way in, preferred where the kernel allows it: fentry/fexit on the
 * syscall functions themselves (__x64_sys_NAME). Nothing runs for any other
 * syscall, not even the tracepoints' slow path. The function's one argument
 * is the user's pt_regs, read exactly as the tracepoint reads its arguments
 * (the same `n` of them), so that records come out byte for byte the same.
 */
#define SYSCALL_FN(name) "__x64_sys_" #name /* x86-64 only, like syscall_of() */
/* Direct loads through the BTF-typed pointer, as raw_enter() does: no helper call. */
#define REG_ARG(regs, n, i, reg) ((i) < (n) ? (regs)->reg : 0)
#define FE_ENTER(regs, sc, n, seeding)                                                          \
	sys_enter(sc, REG_ARG(regs, n, 0, di), REG_ARG(regs, n, 1, si), REG_ARG(regs, n, 2, dx),  \
		  REG_ARG(regs, n, 3, r10), REG_ARG(regs, n, 4, r8), REG_ARG(regs, n, 5, r9), seeding)

/* No tail call here: kernels with "bpf: Prevent tail call between progs
 * attached to different hooks" (6.1.y, 6.12.y) refuse one between fexit
 * programs on different functions (EINVAL). So each exit carries the handler,
 * in both builds (plain and _snap): the verifier checks it once per syscall. */
#define SYSCALL_FENTRY(name, sc, nargs)                                                 \
	SEC("fentry/" SYSCALL_FN(name))                                                 \
	int BPF_PROG(fe_enter_##name, struct pt_regs *regs)                             \
	{                                                                               \
		return FE_ENTER(regs, sc, nargs, false);                                \
	}                                                                               \
	SEC("fexit/" SYSCALL_FN(name))                                                  \
	int BPF_PROG(fe_exit_##name, struct pt_regs *regs, long ret)                    \
	{                                                                               \
		return sys_exit(ret, false);                                            \
	}                                                                               \
	SEC("fexit/" SYSCALL_FN(name))                                                  \
	int BPF_PROG(fe_exit_##name##_snap, struct pt_regs *regs, long ret)             \
	{                                                                               \
		return sys_exit(ret, true);                                             \
	}

SYSCALL_FENTRY(mmap, VT_SC_MMAP, 6)
SYSCALL_FENTRY(mprotect, VT_SC_MPROTECT, 3)
SYSCALL_FENTRY(munmap, VT_SC_MUNMAP, 2)
SYSCALL_FENTRY(brk, VT_SC_BRK, 1)
SYSCALL_FENTRY(mremap, VT_SC_MREMAP, 5)
SYSCALL_FENTRY(madvise, VT_SC_MADVISE, 3)
SYSCALL_FENTRY(shmat, VT_SC_SHMAT, 3)
SYSCALL_FENTRY(shmdt, VT_SC_SHMDT, 1)
SYSCALL_FENTRY(mlock, VT_SC_MLOCK, 2)
SYSCALL_FENTRY(munlock, VT_SC_MUNLOCK, 2)
SYSCALL_FENTRY(mlockall, VT_SC_MLOCKALL, 1)
SYSCALL_FENTRY(munlockall, VT_SC_MUNLOCKALL, 0)
SYSCALL_FENTRY(prctl, VT_SC_PRCTL, 5)
SYSCALL_FENTRY(mlock2, VT_SC_MLOCK2, 3)
SYSCALL_FENTRY(pkey_mprotect, VT_SC_PKEY_MPROTECT, 4)
SYSCALL_FENTRY(mseal, VT_SC_MSEAL, 3)
SYSCALL_FENTRY(rename, VT_SC_PATH_CHANGE, 2)
SYSCALL_FENTRY(unlink, VT_SC_PATH_CHANGE, 1)
SYSCALL_FENTRY(unlinkat, VT_SC_PATH_CHANGE, 3)
SYSCALL_FENTRY(renameat, VT_SC_PATH_CHANGE, 4)
SYSCALL_FENTRY(renameat2, VT_SC_PATH_CHANGE, 5)

SEC("fentry/" SYSCALL_FN(madvise))
int BPF_PROG(fe_enter_madvise_seed, struct pt_regs *regs)
{
	return FE_ENTER(regs, VT_SC_MADVISE, 3, true);
}

/*
 * The fourth way in, opt-in (--mmap-lock-hook, 6.18+): the kernel's mmap_lock
 * tracepoint. Only a task taking its own mmap_lock runs it, so no syscall of
 * any other process runs vmatrace's code, nor takes the tracepoints' slow
 * path (README, Overhead). Every call that changes VMAs takes its mm's lock for
 * writing: there the user registers name the call and its arguments, but not
 * its result, and the VMA iterator cannot walk the locked mm. So a BPF task
 * work runs sys_exit() as the task returns to user space. Unseen: calls that
 * take no write lock (failures before it, madvise advice that changes no VMA,
 * renames of mapped files).
 */
extern int bpf_task_work_schedule_resume_impl(struct task_struct *task, struct bpf_task_work *tw,
					      void *map__map, bpf_task_work_callback_t callback,
					      void *aux__prog) __ksym __weak;

struct return_work {
	struct bpf_task_work tw;
};

/* tid -> the task work that ends its syscalls (deleted at the thread's exit) */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct return_work);
} return_works SEC(".maps");

/* The task work: the syscall whose write lock scheduled it is over. */
static int at_syscall_return(struct bpf_map *map, void *key, void *value)
{
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
	struct thread_state *t = thread_state(false);

	if (!t || !t->sc.ts)
		return 0;
	/* Run anywhere but at that call's return (the irq_work that queues it
	 * came late), the registers are not its result. */
	if (!regs || syscall_of(regs->orig_ax) != t->sc.sc) {
		t->sc.ts = 0;
		count_lost(VT_LOST_SYSCALL_RETURN);
		return 0;
	}
	return sys_exit(regs->ax, true);
}

/*
 * A task work still pending at the next write lock: none of the traced calls
 * takes its write lock twice, so it is an earlier call's, whose irq_work came
 * too late (PREEMPT_RT runs irq_work in a thread) to catch its return. Left
 * alone, it would end some later call with that call's registers: it must
 * find nothing to end, and both calls count as lost.
 */
static __always_inline void drop_overdue_return(void)
{
	struct thread_state *t = thread_state(false);

	if (t && t->sc.ts) {
		t->sc.ts = 0;
		count_lost(VT_LOST_SYSCALL_RETURN);
	}
}

static __always_inline struct return_work *return_work_of(__u32 tid)
{
	struct return_work zero = {}, *w = bpf_map_lookup_elem(&return_works, &tid);

	if (w)
		return w;
	bpf_map_update_elem(&return_works, &tid, &zero, BPF_NOEXIST);
	return bpf_map_lookup_elem(&return_works, &tid);
}

/* The 6.14+ prototype: user space loads this only where the task work kfunc
 * exists (6.18+), whose kernels all have it. */
SEC("tp_btf/mmap_lock_acquire_returned")
int BPF_PROG(lk_write_locked, struct mm_struct *mm, bool write, bool success)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tgid = id >> 32;
	struct task_struct *task;
	struct return_work *w;
	struct pt_regs *regs;
	long err;
	__u16 sc;

	if (!write || !success || (tgid != self_tgid && !may_be_target(tgid)))
		return 0;
	task = bpf_get_current_task_btf();
	if (task->mm != mm)
		return 0;
	/* In a syscall, the entry code left -ENOSYS where its result will go;
	 * in a page fault (stack growth) orig_ax holds the error code. */
	regs = (struct pt_regs *)bpf_task_pt_regs(task);
	if (!regs || regs->ax != (unsigned long)-ENOSYS)
		return 0;
	sc = syscall_of(regs->orig_ax);
	if (!sc || sc == VT_SC_PATH_CHANGE)
		return 0;
	/* vmatrace's seed request: see BpfSession::request_seed(). */
	if (tgid == self_tgid) {
		if (sc == VT_SC_MPROTECT && regs->r10 == VT_SEED_MAGIC)
			seed(regs->r8);
		return 0;
	}
	if (!is_target(tgid) || (sc == VT_SC_PRCTL && regs->di != PR_SET_VMA))
		return 0;
	w = return_work_of((__u32)id);
	if (!w) {
		count_lost(VT_LOST_SYSCALL_MAP_FULL);
		return 0;
	}
	err = bpf_task_work_schedule_resume_impl(task, &w->tw, &return_works, at_syscall_return, NULL);
	if (err == -EBUSY)
		drop_overdue_return();
	if (err) {
		count_lost(VT_LOST_SYSCALL_RETURN);
		return 0;
	}
	/* The task work runs in this task, after this program: no race. */
	return sys_enter(sc, regs->di, regs->si, regs->dx, regs->r10, regs->r8, regs->r9, false);
}

/* ---- page faults: entry tracepoints, completion perf events ---- */

struct stack_sampler {
	__u64 tick;    /* faults seen on this CPU */
	__u64 walking; /* inside bpf_get_stackid: its own faults are not the target's */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct stack_sampler);
} stack_sampler SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(max_entries, 1); /* sized by user space with --stacks */
	__uint(key_size, sizeof(__u32));
	__uint(value_size, VT_STACK_DEPTH * sizeof(__u64));
} stacks SEC(".maps");

static __always_inline struct stack_sampler *sampler(void)
{
	__u32 zero = 0;

	return stack_every ? bpf_map_lookup_elem(&stack_sampler, &zero) : NULL;
}

static __always_inline void emit_fault(const struct pending_fault *p, __u64 addr, __u16 flags,
				       __u64 now, __s32 stack_id)
{
	__u64 avail = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA);
	struct vt_fault_event *e;
	__u64 lat;

	if (avail >= fault_shed_bytes) {
		count_lost(VT_LOST_FAULT_SHED);
		return;
	}
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count_lost(VT_LOST_RINGBUF_FAULT);
		return;
	}
	fill_hdr(&e->hdr, VT_EV_FAULT, sizeof(*e), now);
	e->addr = addr;
	e->ip = p->ip;
	e->error_code = p->error_code;
	e->flags = p->flags | flags;
	lat = (flags & (VT_FAULT_NO_ENTRY | VT_FAULT_INCOMPLETE)) ? 0 : now - p->ts;
	e->latency_ns = lat > 0xffffffffULL ? 0xffffffffU : lat;
	e->stack_id = stack_id;
	e->_pad = 0;
	bpf_ringbuf_submit(e, wake_flags_at(avail));
}

/* A fault that was entered and never completed: report it now. */
static __always_inline void close_pending(struct pending_fault *p, __u64 now)
{
	if (!p->ts)
		return;
	emit_fault(p, p->addr, VT_FAULT_INCOMPLETE, now, -1);
	p->ts = 0;
}

static __always_inline void fault_entry(unsigned long address, unsigned long ip,
					unsigned long error_code, __u16 flags)
{
	struct stack_sampler *ss;
	struct thread_state *t;
	__u32 tgid = current_tgid();
	__u64 now;

	/* Every fault on the machine runs this: the rest of the machine's leave
	 * after one helper call and one array load (bench.sh's floor rows). */
	if (!may_be_target(tgid))
		return;
	/* The stack walk's own faults (copy_from_user_nofault) never complete. */
	ss = sampler();
	if (ss && ss->walking)
		return;
	t = slotted_thread_state(false);
	if (!t) {
		if (!is_target(tgid))
			return;
		t = slotted_thread_state(true);
		if (!t) {
			count_lost(VT_LOST_FAULT_MAP_FULL);
			return;
		}
	}
	now = bpf_ktime_get_ns();
	close_pending(&t->pf, now);
	t->pf.addr = address;
	t->pf.ip = ip;
	t->pf.error_code = error_code;
	t->pf.flags = flags;
	t->pf.ts = now;
}

SEC("tp_btf/page_fault_user")
int BPF_PROG(on_pf_user, unsigned long address, struct pt_regs *regs, unsigned long error_code)
{
	fault_entry(address, regs->ip, error_code, 0);
	return 0;
}

SEC("tp_btf/page_fault_kernel")
int BPF_PROG(on_pf_kernel, unsigned long address, struct pt_regs *regs, unsigned long error_code)
{
	struct pt_regs *uregs = NULL;

	if (address >= USER_ADDR_LIMIT)
		return 0;
	/* The code to blame is the user code that made the syscall. */
	if (have_task_pt_regs)
		uregs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
	fault_entry(address, uregs ? uregs->ip : 0, error_code, VT_FAULT_KERNEL);
	return 0;
}

/* Every stack_every-th fault on this CPU: the user stack that took it. */
static __always_inline __s32 sample_stack(struct bpf_perf_event_data *ctx)
{
	struct stack_sampler *ss = sampler();
	__s32 id;

	if (!ss || ss->tick++ % stack_every)
		return -1;
	/* Perf software events run with preemption off: the flag is this fault's. */
	ss->walking = 1;
	id = bpf_get_stackid(ctx, &stacks, BPF_F_USER_STACK);
	ss->walking = 0;
	return id;
}

static __always_inline int fault_done(struct bpf_perf_event_data *ctx, __u16 flags)
{
	struct pending_fault none = {};
	struct thread_state *t = thread_state(false);
	__u64 now, addr = ctx->addr;
	__s32 stack_id;

	if (!t && !is_target(current_tgid()))
		return 0;
	now = bpf_ktime_get_ns();
	stack_id = sample_stack(ctx);
	if (t && t->pf.ts && (t->pf.addr >> 12) == (addr >> 12)) {
		emit_fault(&t->pf, addr, flags, now, stack_id);
		t->pf.ts = 0;
		return 0;
	}
	if (t)
		close_pending(&t->pf, now);
	none.ip = ctx->regs.ip;
	emit_fault(&none, addr, flags | VT_FAULT_NO_ENTRY, now, stack_id);
	return 0;
}

SEC("perf_event")
int on_fault_min(struct bpf_perf_event_data *ctx)
{
	return fault_done(ctx, 0);
}

SEC("perf_event")
int on_fault_maj(struct bpf_perf_event_data *ctx)
{
	return fault_done(ctx, VT_FAULT_MAJOR);
}

/* ---- task lifecycle ---- */

static __always_inline int exec(struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm,
				const bool snapshots)
{
	struct vma_scratch *sc;
	struct vt_exec_event *e;
	__u32 tgid = current_tgid();
	__u32 *state = may_be_target(tgid) ? bpf_map_lookup_elem(&targets, &tgid) : NULL;

	if (!state)
		return 0;
	*state = VT_TARGET_TRACED;
	/* Borrow the per-CPU scratch: an exec record is too big for the BPF stack. */
	sc = scratch_area();
	if (!sc)
		return 0;
	e = (struct vt_exec_event *)&sc->ev;
	fill_hdr(&e->hdr, VT_EV_EXEC, sizeof(*e), bpf_ktime_get_ns());
	e->old_tid = old_pid;
	e->filename_len = 0;
	if (have_probe_read) {
		long n = bpf_probe_read_kernel_str(e->filename, sizeof(e->filename),
						   BPF_CORE_READ(bprm, filename));
		e->filename_len = n > 0 ? n - 1 : 0;
	}
	e->mm = (__u64)p->mm;
	if (bpf_ringbuf_output(&events, e, sizeof(*e), wake_flags()))
		count_lost(VT_LOST_RINGBUF_TASK);
	if (snapshots)
		snapshot_range(p, tgid, 0, ~0ULL, VT_SNAP_EXEC, 0, e->hdr.ts);
	return 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(on_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	return exec(p, old_pid, bprm, false);
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(on_exec_snap, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	return exec(p, old_pid, bprm, true);
}

static __always_inline int fork(struct task_struct *parent, struct task_struct *child,
				const bool snapshots)
{
	struct vt_fork_event *e;
	__u32 child_pid = child->tgid, traced = VT_TARGET_TRACED;
	bool thread = child_pid == parent->tgid;

	if (!is_target(current_tgid()))
		return 0;
	if (!thread && follow_children) {
		mark_target_slot(child_pid);
		bpf_map_update_elem(&targets, &child_pid, &traced, BPF_ANY);
	}
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count_lost(VT_LOST_RINGBUF_TASK);
		return 0;
	}
	fill_hdr(&e->hdr, VT_EV_FORK, sizeof(*e), bpf_ktime_get_ns());
	e->child_pid = child_pid;
	e->child_tid = child->pid;
	e->flags = thread ? VT_FORK_THREAD : 0;
	e->_pad = 0;
	e->child_mm = (__u64)child->mm;
	bpf_ringbuf_submit(e, wake_flags());
	if (snapshots && !thread && follow_children && child->mm != parent->mm)
		snapshot_range(child, child_pid, 0, ~0ULL, VT_SNAP_FORK, 0, bpf_ktime_get_ns());
	return 0;
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(on_fork, struct task_struct *parent, struct task_struct *child)
{
	return fork(parent, child, false);
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(on_fork_snap, struct task_struct *parent, struct task_struct *child)
{
	return fork(parent, child, true);
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(on_exit, struct task_struct *p)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id, tgid = id >> 32;
	struct thread_state *t;
	struct vt_exit_event *e;
	bool group_dead;

	if (!is_target(tgid))
		return 0;
	t = thread_state(false);
	if (t)
		close_pending(&t->pf, bpf_ktime_get_ns());
	if (!use_task_storage)
		bpf_map_delete_elem(&thread_hash, &tid);
	if (syscalls_at_lock)
		bpf_map_delete_elem(&return_works, &tid);
	/* do_exit() drops signal->live before this tracepoint fires. */
	group_dead = p->signal->live.counter == 0;
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (e) {
		fill_hdr(&e->hdr, VT_EV_EXIT, sizeof(*e), bpf_ktime_get_ns());
		e->exit_code = p->exit_code;
		e->flags = group_dead ? VT_EXIT_GROUP_DEAD : 0;
		bpf_ringbuf_submit(e, BPF_RB_FORCE_WAKEUP);
	} else {
		count_lost(VT_LOST_RINGBUF_TASK);
	}
	if (group_dead)
		bpf_map_delete_elem(&targets, &tgid);
	return 0;
}
