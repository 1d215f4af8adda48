/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The kernel's VMAs as user space must model them: one VMA at an address
 * (bpf_find_vma, 5.17+), or every VMA of a range read under mmap_lock with the
 * task VMA iterator kfuncs (6.7+) and sent as one batch record closed by a
 * snapshot record, so snapshots arrive in the order the VMA tree changed.
 *
 * Only programs built with snapshots call the kfuncs: user space loads those
 * variants on kernels that have them, so no other verifier ever sees them.
 */
#ifndef VMATRACE_VMA_SNAPSHOT_BPF_H
#define VMATRACE_VMA_SNAPSHOT_BPF_H

#include "common.bpf.h"
#include "path.bpf.h"

extern int bpf_iter_task_vma_new(struct bpf_iter_task_vma *it, struct task_struct *task,
				 __u64 addr) __ksym __weak;
extern struct vm_area_struct *bpf_iter_task_vma_next(struct bpf_iter_task_vma *it) __ksym __weak;
extern void bpf_iter_task_vma_destroy(struct bpf_iter_task_vma *it) __ksym __weak;
/* 6.4+, so in every kernel that has the VMA iterator. */
extern int bpf_iter_num_new(struct bpf_iter_num *it, int start, int end) __ksym __weak;
extern int *bpf_iter_num_next(struct bpf_iter_num *it) __ksym __weak;
extern void bpf_iter_num_destroy(struct bpf_iter_num *it) __ksym __weak;
extern struct task_struct *bpf_task_from_pid(s32 pid) __ksym __weak;
extern void bpf_task_release(struct task_struct *p) __ksym __weak;
/* vm_ops->name of special mappings ([vdso], [vvar], [uprobes], ...) */
extern const void special_mapping_name __ksym __weak;

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
	struct vma_scratch *sc = scratch_area();

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
	if (err == -EBUSY)
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

/* A snapshot's records, gathered and sent as one VT_EV_BATCH ring record:
 * one ring buffer operation per snapshot instead of one per VMA. */
#define BATCH_BYTES 4096
#define BATCH_MASK (2 * BATCH_BYTES - 1)

struct batch {
	struct vt_hdr hdr;
	/* Twice the batch: a record fits at any offset below BATCH_BYTES, and a
	 * length masked with BATCH_MASK is provably inside the map value. */
	char data[2 * BATCH_BYTES];
	__u32 used;
	/* Ring records sent since the snapshot began: a walk seen in part can
	 * no longer be taken back and walked again. */
	__u32 flushed;
	/* The record of the syscall being exited, until a snapshot takes it in
	 * its batch (one ring buffer operation a syscall, not two) or sys_exit
	 * sends it alone. */
	__u32 has_syscall;
	struct vt_syscall_event syscall;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct batch);
} batches SEC(".maps");

/* Sends what the batch holds; false if the ring buffer had no room. Global
 * functions (here and below) are verified once, not at every call site. */
__noinline bool batch_flush(struct batch *b, __u64 ts)
{
	__u64 n, len;
	bool ok;

	if (!b)
		return false;
	n = b->used;
	if (!n)
		return true;
	len = sizeof(b->hdr) + n;
	fill_hdr(&b->hdr, VT_EV_BATCH, len, ts);
	/* The compiler would drop or move a plain mask it can prove redundant;
	 * the verifier needs it on the register it passes. */
	barrier_var(len);
	len &= BATCH_MASK;
	ok = bpf_ringbuf_output(&events, b, len, wake_flags()) == 0;
	b->used = 0;
	b->flushed++;
	return ok;
}

/* Appends rec, `size` bytes long, to the batch. */
__noinline bool batch_add_vma(struct batch *b, const struct vt_vma_event *rec, __u32 size, __u64 ts)
{
	bool ok = true;

	if (!b || !rec)
		return false;
	if (b->used > BATCH_BYTES - sizeof(*rec))
		ok = batch_flush(b, ts);
	/* Typed, so that the copies below move 8 bytes at a time, not 1 (records
	 * sit 8-aligned in data): fewer instructions for every verifier to walk. */
	struct vt_vma_event *dst = (void *)&b->data[b->used & (BATCH_BYTES - 1)];
	/* Most VMAs have no path: copy its bytes only when there are some. */
	__builtin_memcpy(dst, rec, __builtin_offsetof(struct vt_vma_event, path));
	if (rec->path_len)
		__builtin_memcpy(dst->path, rec->path, VT_PATH_MAX);
	b->used += (size + 7) & ~7U;
	return ok;
}

/* What to snapshot; a struct because BPF functions take at most 5 arguments. */
struct snap_req {
	__u64 lo;
	__u64 hi;
	__u64 ts;
	__u32 owner;
	__u16 reason;
	__u16 sc;
	__u32 take_syscall; /* the batch's syscall record goes after the snapshot */
	__u32 _pad;
	/* A VMA must hold this address: the syscall made or kept one there.
	 * 0: nothing to check (a VMA at page 0 goes unchecked). */
	__u64 must_see;
};

static __always_inline struct batch *batch_area(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&batches, &zero);
}

#define SNAP_ATTEMPTS 64
/* A range that missed the VMA it must hold is walked again for this long
 * after the syscall's exit (and at most SNAP_WALKS times): long enough for
 * another thread's munmap to let go of the VMA (24 us seen), short enough
 * that a holder sent off its CPU costs the traced thread little. */
#define SNAP_WALKS 1024
#define SNAP_REWALK_NS 200000

/* Adds vma's record to a snapshot's batch: 1, or 0 if an earlier part of the
 * batch found no room in the ring buffer, or -1 without a scratch record. Its
 * own subprogram: the many ways through fill_vma_record meet again at its
 * return, not at the head of the snapshot loop, for the verifier. */
static __noinline int batch_add_snapshot_vma(struct batch *b, struct vm_area_struct *vma, __u32 owner, __u64 ts)
{
	struct vt_vma_event *e = vma_scratch();
	__u32 size;

	if (!e)
		return -1;
	fill_vma_record(e, vma);
	size = vma_record_size(e);
	fill_hdr(&e->hdr, VT_EV_VMA, size, ts);
	e->hdr.pid = owner;
	e->reason = VT_VMA_SNAPSHOT;
	if (batch_add_vma(b, e, size, ts))
		return 1;
	count_lost(VT_LOST_RINGBUF_VMA);
	return 0;
}

/* Closes the walk's batch with the snapshot record (and the syscall's record
 * if it is to go after it) and sends it; the caller still holds the walk. */
static __always_inline void snapshot_close(struct batch *b, struct mm_struct *mm, const struct snap_req *req,
					   __u32 count, long err)
{
	__u64 ts = req->ts;
	struct vt_snapshot_event *s;
	bool with_syscall, snapshot_in_batch = true;

	if (b->used > BATCH_BYTES - sizeof(struct vt_vma_event) && !batch_flush(b, ts)) {
		count_lost(VT_LOST_RINGBUF_VMA);
		err = -ENOSPC;
	}
	s = (struct vt_snapshot_event *)&b->data[b->used & (BATCH_BYTES - 1)];
	fill_hdr(&s->hdr, VT_EV_SNAPSHOT, sizeof(*s), ts);
	s->hdr.pid = req->owner;
	s->mm = (__u64)mm;
	s->lo = req->lo;
	s->hi = req->hi;
	s->start_brk = mm->start_brk;
	s->brk = mm->brk;
	s->start_stack = mm->start_stack;
	s->count = count;
	s->status = err;
	s->reason = req->reason;
	s->sc = req->sc;
	s->_pad = 0;
	b->used += sizeof(*s);
	with_syscall = req->take_syscall && b->has_syscall;
	if (with_syscall) {
		/* No room left: the snapshot goes now, the syscall alone after it. */
		if (b->used > BATCH_BYTES - sizeof(b->syscall)) {
			if (!batch_flush(b, ts))
				count_lost(VT_LOST_RINGBUF_SNAPSHOT);
			snapshot_in_batch = false;
		}
		__builtin_memcpy(&b->data[b->used & (BATCH_BYTES - 1)], &b->syscall, sizeof(b->syscall));
		b->used += sizeof(b->syscall);
		b->has_syscall = 0;
	}
	if (!batch_flush(b, ts)) {
		if (snapshot_in_batch)
			count_lost(VT_LOST_RINGBUF_SNAPSHOT);
		if (with_syscall)
			count_lost(VT_LOST_RINGBUF_SYSCALL);
	}
}

/*
 * Emits every VMA of task overlapping the bytes [lo, hi], then the snapshot
 * record, all while the iterator holds mmap_lock. bpf_iter_task_vma_new only
 * try-locks: another thread changing its mappings makes it fail with EBUSY,
 * so it is tried again a bounded number of times.
 *
 * The iterator of 2026 kernels holds no mmap_lock: it passes over a VMA that
 * another thread holds write-locked. A walk that misses the VMA the syscall
 * made (req->must_see) is thrown away and walked again, and when the walks
 * run out the snapshot fails (EAGAIN): the model says it is unsure.
 */
static __noinline void snapshot(struct task_struct *task, const struct snap_req *req)
{
	__u64 lo = req->lo, hi = req->hi, ts = req->ts;
	__u32 owner = req->owner;
	struct bpf_iter_task_vma it;
	struct bpf_iter_num attempts, walks;
	struct vm_area_struct *vma;
	struct mm_struct *mm = task->mm;
	__u32 count;
	int added, *walk;
	struct batch *b = batch_area();
	bool seen;
	long err;

	if (!mm || !b)
		return;
	b->flushed = 0;
	bpf_iter_num_new(&walks, 0, SNAP_WALKS);
	while ((walk = bpf_iter_num_next(&walks))) {
		b->used = 0;
		count = 0;
		seen = !req->must_see;
		/* new() leaves an iterator to destroy whether or not it succeeded. A
		 * number iterator, not a counted loop: the verifier walks its body
		 * twice, not once per attempt. */
		err = bpf_iter_task_vma_new(&it, task, lo);
		bpf_iter_num_new(&attempts, 1, SNAP_ATTEMPTS);
		while (err == -EBUSY && bpf_iter_num_next(&attempts)) {
			bpf_iter_task_vma_destroy(&it);
			err = bpf_iter_task_vma_new(&it, task, lo);
		}
		bpf_iter_num_destroy(&attempts);
		if (!err) {
			while ((vma = bpf_iter_task_vma_next(&it))) {
				if (vma->vm_start > hi)
					break;
				if (vma->vm_start <= req->must_see && req->must_see < vma->vm_end)
					seen = true;
				added = batch_add_snapshot_vma(b, vma, owner, ts);
				if (added < 0)
					break;
				if (!added)
					err = -ENOSPC; /* the consumer must not trust this range */
				count++;
				/* Every later VMA starts past hi: asking the iterator for it
				 * would cost a maple-tree walk for nothing. */
				if (vma->vm_end > hi)
					break;
			}
			if (!err && !seen) {
				if (*walk < SNAP_WALKS - 1 && !b->flushed && bpf_ktime_get_ns() - ts < SNAP_REWALK_NS) {
					bpf_iter_task_vma_destroy(&it);
					continue;
				}
				err = -EAGAIN;
			}
		} else {
			count_lost(VT_LOST_VMA_BUSY);
		}
		/* The closing record goes in the batch too, sent while the lock is held. */
		snapshot_close(b, mm, req, count, err);
		bpf_iter_task_vma_destroy(&it);
		break;
	}
	bpf_iter_num_destroy(&walks);
}

/* The calling thread's own VMAs, as a global function: the verifier checks it
 * once, not at each of sys_exit's call sites. */
__noinline int snapshot_current(const struct snap_req *req)
{
	if (req)
		snapshot(bpf_get_current_task_btf(), req);
	return 0;
}

static __always_inline void snapshot_range(struct task_struct *task, __u32 owner, __u64 lo, __u64 hi,
					   __u16 reason, __u16 sc, __u64 ts)
{
	struct snap_req req = {.lo = lo, .hi = hi, .ts = ts, .owner = owner, .reason = reason, .sc = sc};

	snapshot(task, &req);
}

static __always_inline void snapshot_current_range(__u32 owner, __u64 lo, __u64 hi, __u16 sc, __u64 ts,
						  __u64 must_see)
{
	struct snap_req req = {.lo = lo, .hi = hi, .ts = ts, .owner = owner, .reason = VT_SNAP_SYSCALL, .sc = sc,
			       .must_see = must_see};

	snapshot_current(&req);
}

/* vmatrace asked for the whole address space of pid, in order with its events. */
static __always_inline void seed(__u64 pid)
{
	struct task_struct *task = bpf_task_from_pid(pid);

	if (!task)
		return;
	snapshot_range(task, pid, 0, ~0ULL, VT_SNAP_SEED, 0, bpf_ktime_get_ns());
	bpf_task_release(task);
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
 * for a moving mremap; the last takes the syscall's record in its batch. */
static __always_inline void snapshot_after(const struct inflight_syscall *s, long ret, __u64 ts)
{
	struct task_struct *task = bpf_get_current_task_btf();
	__u32 owner = current_tgid();
	const __u64 *a = s->args;
	struct mm_struct *mm = task->mm;
	__u64 lo = 0, hi = ~0ULL;
	/* Where a VMA must be after the call: what mmap, mremap and shmat
	 * returned, what mprotect and the like changed without error. */
	__u64 must_see = 0;
	bool changed_range = ret == 0 && a[1] > 0;

	switch (s->sc) {
	case VT_SC_MMAP:
		if (ret >= 0) {
			lo = below(ret);
			hi = right_edge(ret, a[1]);
			must_see = ret;
		} else if (a[3] & MAP_FIXED) { /* a failure may have unmapped */
			lo = below(a[0]);
			hi = right_edge(a[0], a[1]);
		} else {
			return;
		}
		break;
	case VT_SC_MREMAP:
		if (ret >= 0 && (__u64)ret != a[0]) {
			/* The old range below may be gone: nothing to see there. */
			snapshot_current_range(owner, below(ret), right_edge(ret, a[2]), s->sc, ts, ret);
		} else if (ret >= 0) {
			must_see = ret;
		} else if (a[3] & MREMAP_FIXED) { /* failed: before 6.16 the target went first */
			snapshot_current_range(owner, below(a[4]), right_edge(a[4], a[2]), s->sc, ts, 0);
		}
		lo = below(a[0]);
		hi = right_edge(a[0], a[1] > a[2] ? a[1] : a[2]);
		break;
	case VT_SC_SHMAT:
		if (ret < 0)
			return;
		lo = below(ret);
		hi = ret;
		must_see = ret;
		break;
	case VT_SC_BRK: /* a[1]: the break before the call (see on_sys_enter) */
		if (!mm)
			return;
		/* It returns the break, which no VMA need hold. */
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
		if (ret == 0 && a[3] > 0)
			must_see = a[2];
		break;
	case VT_SC_MUNMAP:
		/* It only splits and removes, but the parts left of a split VMA are
		 * sent whole: a walk of another thread that passed over that VMA
		 * while this call held it (iterators of 2026) is older, and this
		 * snapshot, speaking for all of them, puts them back. */
		lo = below(a[0]);
		hi = right_edge(a[0], a[1]);
		break;
	case VT_SC_MADVISE:
		/* Only advice that changes vm_flags splits or merges (mm/madvise.c
		 * madvise_update_vma): NORMAL, RANDOM, SEQUENTIAL, and 10..19
		 * (DONTFORK..KEEPONFORK, MERGEABLE, HUGEPAGE, DONTDUMP and their undos). */
		if (a[2] > 2 && (a[2] < 10 || a[2] > 19))
			return;
		lo = below(a[0]);
		hi = right_edge(a[0], a[1]);
		if (changed_range)
			must_see = a[0];
		break;
	default: /* addr, len first: mprotect, mlock*, munlock, mseal */
		lo = below(a[0]);
		hi = right_edge(a[0], a[1]);
		if (changed_range)
			must_see = a[0];
		break;
	}
	struct snap_req req = {.lo = lo, .hi = hi, .ts = ts, .owner = owner, .reason = VT_SNAP_SYSCALL,
			       .sc = s->sc, .take_syscall = 1, .must_see = must_see};

	snapshot_current(&req);
}

#endif /* VMATRACE_VMA_SNAPSHOT_BPF_H */
