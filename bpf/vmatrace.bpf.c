// SPDX-License-Identifier: GPL-2.0
/*
 * vmatrace kernel side: address-space syscalls, task lifecycle and page faults
 * of the traced processes, streamed through one ring buffer.
 *
 * Only hooks that need neither kprobes, fentry nor tracefs are used, so this
 * loads on the minimal kernels described in shared/kernel-notes.md:
 *   tp_btf/sys_enter, tp_btf/sys_exit       address-space syscalls
 *   tp_btf/page_fault_user, _kernel         fault entry (error code, ip)
 *   perf_event PAGE_FAULTS_MIN / _MAJ       fault completion (exact address)
 *   tp_btf/sched_process_{exec,fork,exit}   image, children, exit
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "vmatrace/events.h"

char LICENSE[] SEC("license") = "GPL";

/* Set by user space before load (see user/bpf/loader.cpp). */
const volatile bool follow_children = false;
const volatile bool have_find_vma = true;   /* bpf_find_vma, 5.17+ */
const volatile bool have_probe_read = true; /* refused under lockdown=confidentiality */
const volatile bool have_task_pt_regs = true; /* 5.15+ */
const volatile bool use_task_storage = true; /* task storage in perf_event programs */
const volatile bool have_vma_iter = true;    /* bpf_iter_task_vma_* kfuncs, 6.7+ */
const volatile bool have_task_from_pid = true; /* bpf_task_from_pid kfunc, 6.2+ */
const volatile bool have_special_names = true; /* special_mapping_name resolved from kallsyms */
const volatile __u32 self_tgid = 0;
const volatile __u32 stack_every = 0; /* --stacks: a user stack every Nth fault (0: none) */

extern int bpf_iter_task_vma_new(struct bpf_iter_task_vma *it, struct task_struct *task,
				 __u64 addr) __ksym __weak;
extern struct vm_area_struct *bpf_iter_task_vma_next(struct bpf_iter_task_vma *it) __ksym __weak;
extern void bpf_iter_task_vma_destroy(struct bpf_iter_task_vma *it) __ksym __weak;
extern struct task_struct *bpf_task_from_pid(s32 pid) __ksym __weak;
extern void bpf_task_release(struct task_struct *p) __ksym __weak;
/* vm_ops->name of special mappings ([vdso], [vvar], [uprobes], ...) */
extern const void special_mapping_name __ksym __weak;
const volatile __u64 wakeup_bytes = 256 * 1024;
const volatile __u64 fault_shed_bytes = 12 << 20;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 16 << 20); /* resized by user space */
} events SEC(".maps");

/* tgid -> TARGET_* for every traced process */
#define TARGET_TRACED 1
#define TARGET_AWAIT_EXEC 2 /* vmatrace's gated child: traced from its exec on */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__type(key, __u32);
	__type(value, __u32);
} targets SEC(".maps");

struct inflight_syscall {
	__u64 ts; /* 0: none in flight */
	__u64 args[6];
	__u16 sc;
};

struct pending_fault {
	__u64 ts; /* 0: none pending */
	__u64 addr;
	__u64 ip;
	__u16 error_code;
	__u16 flags;
};

/* What a traced thread is in the middle of: a syscall, a fault. */
struct thread_state {
	struct inflight_syscall sc;
	struct pending_fault pf;
};

/* Task-local storage where the kernel allows it in every program type we use
 * (no hashing, freed with the task); a tid-keyed hash elsewhere. */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct thread_state);
} thread_storage SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384); /* shrunk to 1 by user space when unused */
	__type(key, __u32);
	__type(value, struct thread_state);
} thread_hash SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, VT_LOST_MAX);
	__type(key, __u32);
	__type(value, __u64);
} lost SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(max_entries, 1); /* sized by user space with --stacks */
	__uint(key_size, sizeof(__u32));
	__uint(value_size, VT_STACK_DEPTH * sizeof(__u64));
} stacks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} stack_tick SEC(".maps");

/* The event plus slack, so that a masked offset into path never needs a bounds check. */
struct vma_scratch {
	struct vt_vma_event ev;
	char slack[VT_PATH_MAX];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct vma_scratch);
} scratch SEC(".maps");

/* A snapshot's records, gathered and sent as one VT_EV_BATCH ring record:
 * one ring buffer operation per snapshot instead of one per VMA. */
#define BATCH_BYTES 4096

struct batch {
	struct vt_hdr hdr;
	/* Twice the batch: a record fits at any offset, and a length masked
	 * with 2 * BATCH_BYTES - 1 is provably inside the map value. */
	char data[2 * BATCH_BYTES];
	__u32 used;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct batch);
} batches SEC(".maps");

static __always_inline void count_lost(__u32 reason)
{
	__u64 *n = bpf_map_lookup_elem(&lost, &reason);

	if (n)
		*n += 1;
}

static __always_inline bool is_target(__u32 tgid)
{
	__u32 *state = bpf_map_lookup_elem(&targets, &tgid);

	return state && *state == TARGET_TRACED;
}

/* Only traced threads ever get a thread_state, so finding one also answers
 * "is this thread traced?" without the targets hash lookup on hot paths. */
static __always_inline struct thread_state *thread_state(bool create)
{
	struct thread_state *t, zero = {};
	__u32 tid;

	if (use_task_storage)
		return bpf_task_storage_get(&thread_storage, bpf_get_current_task_btf(), 0,
					    create ? BPF_LOCAL_STORAGE_GET_F_CREATE : 0);
	tid = (__u32)bpf_get_current_pid_tgid();
	t = bpf_map_lookup_elem(&thread_hash, &tid);
	if (t || !create)
		return t;
	bpf_map_update_elem(&thread_hash, &tid, &zero, BPF_NOEXIST);
	return bpf_map_lookup_elem(&thread_hash, &tid);
}

/* Wake the consumer only once a batch has piled up; it also polls on a timer. */
static __always_inline __u64 wake_flags_at(__u64 avail)
{
	return avail >= wakeup_bytes ? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP;
}

static __always_inline __u64 wake_flags(void)
{
	return wake_flags_at(bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA));
}

static __always_inline void fill_hdr(struct vt_hdr *h, __u16 kind, __u16 size, __u64 ts)
{
	__u64 id = bpf_get_current_pid_tgid();

	h->ts = ts;
	h->pid = id >> 32;
	h->tid = (__u32)id;
	h->kind = kind;
	h->size = size;
	h->cpu = bpf_get_smp_processor_id();
}

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

#define PR_SET_VMA 0x53564d41

/* What to snapshot; a struct because BPF functions take at most 5 arguments. */
struct snap_req {
	__u64 lo;
	__u64 hi;
	__u64 ts;
	__u32 owner;
	__u16 reason;
	__u16 sc;
};

static __noinline void snapshot(struct task_struct *task, const struct snap_req *req);

static __always_inline void snapshot_range(struct task_struct *task, __u32 owner, __u64 lo, __u64 hi,
					   __u16 reason, __u16 sc, __u64 ts)
{
	struct snap_req req = {.lo = lo, .hi = hi, .ts = ts, .owner = owner, .reason = reason, .sc = sc};

	snapshot(task, &req);
}

/* vmatrace asked for the whole address space of pid, in order with its events. */
static __always_inline void seed(__u64 pid)
{
	struct task_struct *task;

	if (!have_vma_iter || !have_task_from_pid)
		return;
	task = bpf_task_from_pid(pid);
	if (!task)
		return;
	snapshot_range(task, pid, 0, ~0ULL, VT_SNAP_SEED, 0, bpf_ktime_get_ns());
	bpf_task_release(task);
}

SEC("tp_btf/sys_enter")
int BPF_PROG(on_sys_enter, struct pt_regs *regs, long id)
{
	__u16 sc = syscall_of(id);
	struct thread_state *t;

	if (!sc)
		return 0;
	if (sc == VT_SC_MADVISE && regs->di == VT_SEED_MAGIC &&
	    (bpf_get_current_pid_tgid() >> 32) == self_tgid) {
		seed(regs->si);
		return 0;
	}
	if (!is_target(bpf_get_current_pid_tgid() >> 32))
		return 0;
	if (sc == VT_SC_PRCTL && regs->di != PR_SET_VMA)
		return 0;
	t = thread_state(true);
	if (!t) {
		count_lost(VT_LOST_SYSCALL_MAP_FULL);
		return 0;
	}
	t->sc.args[0] = regs->di;
	t->sc.args[1] = regs->si;
	t->sc.args[2] = regs->dx;
	t->sc.args[3] = regs->r10;
	t->sc.args[4] = regs->r8;
	t->sc.args[5] = regs->r9;
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

struct path_walk {
	struct dentry *d;
	struct vfsmount *vmnt;
	void *mnt; /* the struct mount around vmnt */
	__u32 off;
	__u32 flags;
};

static __always_inline void *mount_of(struct vfsmount *vmnt)
{
	return (void *)vmnt - bpf_core_field_offset(struct mount, mnt);
}

/* One step up the dentry tree, crossing mounts: a bpf_loop callback, so the
 * verifier checks it once instead of once per level. */
static long path_step(__u32 index, void *ctx)
{
	struct path_walk *w = ctx;
	__u32 zero = 0;
	struct vma_scratch *sc = bpf_map_lookup_elem(&scratch, &zero);
	/* Locals, not w->...: BPF_CORE_READ would relocate our own struct's fields. */
	struct dentry *d = w->d, *parent;
	struct vfsmount *vmnt = w->vmnt;
	struct mount *mnt = w->mnt;

	if (!sc)
		return 1;
	if (d == BPF_CORE_READ(vmnt, mnt_root)) {
		void *up = BPF_CORE_READ(mnt, mnt_parent);

		if (up == mnt)
			return 1; /* the real root */
		w->d = BPF_CORE_READ(mnt, mnt_mountpoint);
		w->mnt = up;
		w->vmnt = (void *)up + bpf_core_field_offset(struct mount, mnt);
		return 0;
	}
	if (w->off >= VT_PATH_MAX) {
		w->flags |= VT_PATH_TRUNCATED;
		return 1;
	}
	long n = bpf_probe_read_kernel_str(&sc->ev.path[w->off & (VT_PATH_MAX - 1)], VT_PATH_MAX,
					   BPF_CORE_READ(d, d_name.name));
	if (n <= 0)
		return 1;
	w->off += n;
	parent = BPF_CORE_READ(d, d_parent);
	if (parent == d) {
		/* A pseudo file (memfd, shared anon, SysV shm): d_dname says "(deleted)". */
		w->flags |= VT_PATH_DELETED;
		return 1;
	}
	w->d = parent;
	return 0;
}

/* Writes the file's path into the scratch event, names leaf first. */
static __always_inline void read_path(struct vt_vma_event *e, struct file *file)
{
	struct path_walk w = {};
	long steps;

	w.d = BPF_CORE_READ(file, f_path.dentry);
	w.vmnt = BPF_CORE_READ(file, f_path.mnt);
	w.mnt = mount_of(w.vmnt);
	steps = bpf_loop(VT_MAX_PATH_DEPTH, path_step, &w, 0);
	if (steps >= VT_MAX_PATH_DEPTH)
		w.flags |= VT_PATH_TRUNCATED;
	e->path_len = w.off > VT_PATH_MAX ? VT_PATH_MAX : w.off;
	e->path_flags |= w.flags;
}

/* Fills e (path included) from vma, as /proc/PID/maps will show it. */
static __always_inline void fill_vma_record(struct vt_vma_event *e, struct vm_area_struct *vma)
{
	struct file *file = vma->vm_file;

	e->start = vma->vm_start;
	e->end = vma->vm_end;
	e->flags = vma->vm_flags;
	e->pgoff = vma->vm_pgoff;
	e->path_len = 0;
	e->path_flags = 0;
	e->ino = 0;
	e->dev = 0;
	if (!file) {
		const struct vm_operations_struct *ops = vma->vm_ops;
		long n;

		if (!have_special_names || !have_probe_read || !ops ||
		    (void *)ops->name != (void *)&special_mapping_name)
			return;
		/* vm_private_data is a void *: older verifiers see what it points to as a
		 * scalar, so the chain is read, not dereferenced. */
		struct vm_special_mapping *sm = BPF_CORE_READ(vma, vm_private_data);

		n = bpf_probe_read_kernel_str(e->path, sizeof(e->path), BPF_CORE_READ(sm, name));
		if (n > 0) {
			e->path_len = n;
			e->path_flags = VT_PATH_SPECIAL;
		}
		return;
	}
	e->path_flags = VT_PATH_FILE;
	e->ino = file->f_inode->i_ino;
	e->dev = file->f_inode->i_sb->s_dev;
	if (!have_probe_read) {
		e->path_flags |= VT_PATH_UNKNOWN;
		return;
	}
	struct dentry *d = file->f_path.dentry;
	if (!d->d_hash.pprev && d->d_parent != d)
		e->path_flags |= VT_PATH_DELETED;
	read_path(e, file);
}

/* VMA records carry only the bytes of path they use: most VMAs have none. */
static __always_inline __u32 vma_record_size(const struct vt_vma_event *e)
{
	__u32 n = e->path_len;

	if (n > VT_PATH_MAX)
		n = VT_PATH_MAX;
	return (__builtin_offsetof(struct vt_vma_event, path) + n + 7) & ~7U;
}

static __always_inline struct vt_vma_event *vma_scratch(void)
{
	__u32 zero = 0;
	struct vma_scratch *sc = bpf_map_lookup_elem(&scratch, &zero);

	return sc ? &sc->ev : NULL;
}

/* bpf_find_vma callback. Its ctx must live on the stack, so it fetches the
 * per-CPU scratch itself (same CPU: tracing programs run with migration off). */
static long fill_vma(struct task_struct *task, struct vm_area_struct *vma, void *ctx)
{
	struct vt_vma_event *e = vma_scratch();

	if (!e)
		return 0;
	*(bool *)ctx = true;
	fill_vma_record(e, vma);
	return 0;
}

/* Emit the VMA that contains addr, as the kernel holds it now. */
static __always_inline void emit_vma(__u64 addr, __u16 reason, __u64 ts)
{
	struct vt_vma_event *e;
	bool found = false;
	__u32 size;
	long err;

	if (!have_find_vma)
		return;
	err = bpf_find_vma(bpf_get_current_task_btf(), addr, fill_vma, &found, 0);
	if (err == -16 /* EBUSY */)
		count_lost(VT_LOST_VMA_BUSY);
	e = vma_scratch();
	if (err || !found || !e)
		return;
	size = vma_record_size(e);
	fill_hdr(&e->hdr, VT_EV_VMA, size, ts);
	e->reason = reason;
	if (bpf_ringbuf_output(&events, e, size, wake_flags()))
		count_lost(VT_LOST_RINGBUF_VMA);
}

#define PAGE_SIZE_ 4096ULL
#define SNAP_ATTEMPTS 64

/*
 * Emits every VMA of task overlapping the bytes [lo, hi], then the snapshot
 * record, all while the iterator holds mmap_lock. bpf_iter_task_vma_new only
 * try-locks: another thread changing its mappings makes it fail with EBUSY,
 * so it is tried again a bounded number of times.
 */
/* Sends what the batch holds; false if the ring buffer had no room. Global
 * functions (here and below) are verified once, not at every call site. */
__noinline bool batch_flush(struct batch *b, __u64 ts)
{
	if (!b)
		return false;
	{
	__u64 n = b->used, len;
	bool ok;

	if (!n)
		return true;
	len = sizeof(b->hdr) + n;
	fill_hdr(&b->hdr, VT_EV_BATCH, len, ts);
	/* Bound the length where the verifier sees it (the compiler would move a C mask). */
	asm volatile("%0 &= 8191" : "+r"(len));
	ok = bpf_ringbuf_output(&events, b, len, wake_flags()) == 0;
	b->used = 0;
	return ok;
	}
}

/* Appends rec, `size` bytes long, to the batch. */
__noinline bool batch_add_vma(struct batch *b, const struct vt_vma_event *rec, __u32 size, __u64 ts)
{
	bool ok = true;

	if (!b || !rec)
		return false;
	if (b->used > BATCH_BYTES - sizeof(*rec))
		ok = batch_flush(b, ts);
	char *dst = &b->data[b->used & (BATCH_BYTES - 1)];
	/* Most VMAs have no path: copy its bytes only when there are some. */
	__builtin_memcpy(dst, rec, __builtin_offsetof(struct vt_vma_event, path));
	if (rec->path_len)
		__builtin_memcpy(dst + __builtin_offsetof(struct vt_vma_event, path), rec->path, VT_PATH_MAX);
	b->used += (size + 7) & ~7U;
	return ok;
}

static __noinline void snapshot(struct task_struct *task, const struct snap_req *req)
{
	__u64 lo = req->lo, hi = req->hi, ts = req->ts;
	__u32 owner = req->owner;
	struct bpf_iter_task_vma it;
	struct vm_area_struct *vma;
	struct vt_snapshot_event *s;
	struct mm_struct *mm = task->mm;
	struct vt_vma_event *e;
	__u32 count = 0, zero = 0;
	struct batch *b = bpf_map_lookup_elem(&batches, &zero);
	long err;

	if (!mm || !b)
		return;
	b->used = 0;
	/* new() leaves an iterator to destroy whether or not it succeeded. */
	err = bpf_iter_task_vma_new(&it, task, lo);
	for (int i = 1; i < SNAP_ATTEMPTS && err == -16; i++) {
		bpf_iter_task_vma_destroy(&it);
		err = bpf_iter_task_vma_new(&it, task, lo);
	}
	if (!err) {
		while ((vma = bpf_iter_task_vma_next(&it))) {
			if (vma->vm_start > hi)
				break;
			e = vma_scratch();
			if (!e)
				break;
			fill_vma_record(e, vma);
			__u32 size = vma_record_size(e);

			fill_hdr(&e->hdr, VT_EV_VMA, size, ts);
			e->hdr.pid = owner;
			e->reason = VT_VMA_SNAPSHOT;
			if (!batch_add_vma(b, e, size, ts)) {
				count_lost(VT_LOST_RINGBUF_VMA);
				err = -28; /* ENOSPC: the consumer must not trust this range */
			}
			count++;
			/* Every later VMA starts past hi: asking the iterator for it
			 * would cost a maple-tree walk for nothing. */
			if (vma->vm_end > hi)
				break;
		}
	} else {
		count_lost(VT_LOST_VMA_BUSY);
	}
	/* The closing record goes in the batch too, sent while the lock is held. */
	if (b->used > BATCH_BYTES - sizeof(struct vt_vma_event) && !batch_flush(b, ts)) {
		count_lost(VT_LOST_RINGBUF_VMA);
		err = -28;
	}
	s = (struct vt_snapshot_event *)&b->data[b->used & (BATCH_BYTES - 1)];
	{
		fill_hdr(&s->hdr, VT_EV_SNAPSHOT, sizeof(*s), ts);
		s->hdr.pid = owner;
		s->mm = (__u64)mm;
		s->lo = lo;
		s->hi = hi;
		s->start_brk = mm->start_brk;
		s->brk = mm->brk;
		s->start_stack = mm->start_stack;
		s->count = count;
		s->status = err;
		s->reason = req->reason;
		s->sc = req->sc;
		s->_pad = 0;
		b->used += sizeof(*s);
	}
	if (!batch_flush(b, ts))
		count_lost(VT_LOST_RINGBUF_SNAPSHOT);
	bpf_iter_task_vma_destroy(&it);
}

static __always_inline __u64 page_down(__u64 a)
{
	return a & ~(PAGE_SIZE_ - 1);
}

/* The page-aligned end of [a, a + len), saturating. As a snapshot's inclusive
 * hi it also takes in a right neighbour the change may have merged with. */
static __always_inline __u64 right_edge(__u64 a, __u64 len)
{
	__u64 end = a + len;

	if (end < a)
		return ~0ULL;
	end = (end + PAGE_SIZE_ - 1) & ~(PAGE_SIZE_ - 1);
	return end ? end : ~0ULL;
}

/* One page below: the left neighbour a change may have merged with. */
static __always_inline __u64 below(__u64 a)
{
	a = page_down(a);
	return a ? a - 1 : 0;
}

/* The kernel's VMAs where a syscall may have changed them: one range, or two
 * for a moving mremap. */
static __always_inline void snapshot_after(const struct inflight_syscall *s, long ret, __u64 ts)
{
	struct task_struct *task = bpf_get_current_task_btf();
	__u32 owner = bpf_get_current_pid_tgid() >> 32;
	const __u64 *a = s->args;
	struct mm_struct *mm = task->mm;
	__u64 lo = 0, hi = ~0ULL;

	switch (s->sc) {
	case VT_SC_MMAP:
		if (ret >= 0) {
			lo = below(ret);
			hi = right_edge(ret, a[1]);
		} else if (a[3] & 0x10) { /* MAP_FIXED: a failure may have unmapped */
			lo = below(a[0]);
			hi = right_edge(a[0], a[1]);
		} else {
			return;
		}
		break;
	case VT_SC_MREMAP:
		if (ret >= 0 && (__u64)ret != a[0])
			snapshot_range(task, owner, below(ret), right_edge(ret, a[2]), VT_SNAP_SYSCALL, s->sc, ts);
		lo = below(a[0]);
		hi = right_edge(a[0], a[1] > a[2] ? a[1] : a[2]);
		break;
	case VT_SC_SHMAT:
		if (ret < 0)
			return;
		lo = below(ret);
		hi = ret;
		break;
	case VT_SC_BRK: /* a[1]: the break before the call (see on_sys_enter) */
		if (!mm)
			return;
		hi = a[0] > mm->brk ? a[0] : mm->brk;
		hi = a[1] > hi ? a[1] : hi;
		lo = below(mm->start_brk);
		hi = right_edge(mm->start_brk, hi > mm->start_brk ? hi - mm->start_brk : 0);
		break;
	case VT_SC_MLOCKALL:
	case VT_SC_MUNLOCKALL:
	case VT_SC_SHMDT: /* the segment's size is not in the arguments */
		break;
	case VT_SC_PRCTL: /* PR_SET_VMA: option, attr, addr, size, name */
		lo = below(a[2]);
		hi = right_edge(a[2], a[3]);
		break;
	case VT_SC_MUNMAP: /* only splits and removes: the neighbours cannot change */
		lo = page_down(a[0]);
		hi = right_edge(a[0], a[1]);
		hi = hi > lo ? hi - 1 : lo;
		break;
	case VT_SC_MADVISE:
		/* Only advice that changes vm_flags splits or merges (mm/madvise.c
		 * madvise_update_vma): NORMAL, RANDOM, SEQUENTIAL, and 10..19
		 * (DONTFORK..KEEPONFORK, MERGEABLE, HUGEPAGE, DONTDUMP and their undos). */
		if (a[2] > 2 && (a[2] < 10 || a[2] > 19))
			return;
		lo = below(a[0]);
		hi = right_edge(a[0], a[1]);
		break;
	default: /* addr, len first: mprotect, mlock*, munlock, mseal */
		lo = below(a[0]);
		hi = right_edge(a[0], a[1]);
		break;
	}
	snapshot_range(task, owner, lo, hi, VT_SNAP_SYSCALL, s->sc, ts);
}

static __always_inline bool maps_new_range(__u16 sc)
{
	return sc == VT_SC_MMAP || sc == VT_SC_MREMAP || sc == VT_SC_SHMAT;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(on_sys_exit, struct pt_regs *regs, long ret)
{
	struct inflight_syscall *s;
	struct thread_state *t;
	struct vt_syscall_event *e;
	__u64 now, dur;

	if (!syscall_of(regs->orig_ax))
		return 0;
	t = thread_state(false);
	if (!t || !t->sc.ts)
		return 0;
	s = &t->sc;
	now = bpf_ktime_get_ns();
	if (s->sc == VT_SC_PATH_CHANGE) {
		if (ret == 0 && have_vma_iter)
			snapshot_range(bpf_get_current_task_btf(), bpf_get_current_pid_tgid() >> 32, 0, ~0ULL,
				       VT_SNAP_SYSCALL, s->sc, now);
		s->ts = 0;
		return 0;
	}
	/* VMA records go first so that the syscall line can carry its file. */
	if (have_vma_iter)
		snapshot_after(s, ret, now);
	else if (maps_new_range(s->sc) && ret >= 0)
		emit_vma(ret, VT_VMA_MAPPED, now);
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count_lost(VT_LOST_RINGBUF_SYSCALL);
		s->ts = 0;
		return 0;
	}
	fill_hdr(&e->hdr, VT_EV_SYSCALL, sizeof(*e), now);
	e->sc = s->sc;
	e->flags = 0;
	dur = now - s->ts;
	e->duration_ns = dur > 0xffffffffULL ? 0xffffffffU : dur;
	e->ret = ret;
	__builtin_memcpy(e->args, s->args, sizeof(e->args));
	bpf_ringbuf_submit(e, wake_flags());
	s->ts = 0;
	return 0;
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
	struct thread_state *t = thread_state(false);
	__u64 now;

	if (!t) {
		if (!is_target(bpf_get_current_pid_tgid() >> 32))
			return;
		t = thread_state(true);
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

#define USER_ADDR_LIMIT (1ULL << 56)

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
	__u32 zero = 0;
	__u64 *tick;

	if (!stack_every)
		return -1;
	tick = bpf_map_lookup_elem(&stack_tick, &zero);
	if (!tick || (*tick)++ % stack_every)
		return -1;
	return bpf_get_stackid(ctx, &stacks, BPF_F_USER_STACK);
}

static __always_inline int fault_done(struct bpf_perf_event_data *ctx, __u16 flags)
{
	struct pending_fault none = {};
	struct thread_state *t = thread_state(false);
	__u64 now, addr = ctx->addr;
	__s32 stack_id;

	if (!t && !is_target(bpf_get_current_pid_tgid() >> 32))
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

SEC("tp_btf/sched_process_exec")
int BPF_PROG(on_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	__u32 zero = 0;
	struct vma_scratch *sc;
	struct vt_exec_event *e;
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	__u32 *state = bpf_map_lookup_elem(&targets, &tgid);

	if (!state)
		return 0;
	*state = TARGET_TRACED;
	/* Borrow the per-CPU scratch: an exec record is too big for the BPF stack. */
	sc = bpf_map_lookup_elem(&scratch, &zero);
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
	if (have_vma_iter)
		snapshot_range(p, tgid, 0, ~0ULL, VT_SNAP_EXEC, 0, e->hdr.ts);
	return 0;
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(on_fork, struct task_struct *parent, struct task_struct *child)
{
	struct vt_fork_event *e;
	__u32 child_pid = child->tgid, traced = TARGET_TRACED;
	bool thread = child_pid == parent->tgid;

	if (!is_target(bpf_get_current_pid_tgid() >> 32))
		return 0;
	if (!thread && follow_children)
		bpf_map_update_elem(&targets, &child_pid, &traced, BPF_ANY);
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
	if (!thread && follow_children && have_vma_iter && child->mm != parent->mm)
		snapshot_range(child, child_pid, 0, ~0ULL, VT_SNAP_FORK, 0, bpf_ktime_get_ns());
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(on_exit, struct task_struct *p)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id, tgid = id >> 32;
	struct vt_exit_event *e;
	bool group_dead;

	struct thread_state *t;

	if (!is_target(tgid))
		return 0;
	t = thread_state(false);
	if (t)
		close_pending(&t->pf, bpf_ktime_get_ns());
	if (!use_task_storage)
		bpf_map_delete_elem(&thread_hash, &tid);
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
