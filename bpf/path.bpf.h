/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A mapped file's path, as /proc/PID/maps prints it: walked up the dentry
 * tree across mounts, written leaf first into the per-CPU scratch record.
 * Every read goes through bpf_probe_read_kernel (BPF_CORE_READ): the walk
 * follows pointers the verifier cannot type (struct mount around vfsmount).
 */
#ifndef VMATRACE_PATH_BPF_H
#define VMATRACE_PATH_BPF_H

#include "common.bpf.h"

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
	struct vma_scratch *sc = scratch_area();
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
	/* The mask keeps the offset provably inside path + slack (VT_PATH_MAX is a
	 * power of two), and the slack takes a read of VT_PATH_MAX at any offset. */
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

/* Writes the file's path into e, names leaf first. Without bpf_loop (before
 * 5.17) or probe reads (lockdown) the name is left to user space. */
static __always_inline void read_path(struct vt_vma_event *e, struct file *file)
{
	struct path_walk w = {};
	long steps;

	if (!have_probe_read || !have_bpf_loop) {
		e->path_flags |= VT_PATH_UNKNOWN;
		return;
	}
	w.d = BPF_CORE_READ(file, f_path.dentry);
	w.vmnt = BPF_CORE_READ(file, f_path.mnt);
	w.mnt = mount_of(w.vmnt);
	steps = bpf_loop(VT_MAX_PATH_DEPTH, path_step, &w, 0);
	/* A walk that ran out of levels, or whose last name spilled past
	 * VT_PATH_MAX, was cut: say so, so that user space asks /proc. */
	if (steps >= VT_MAX_PATH_DEPTH || w.off > VT_PATH_MAX)
		w.flags |= VT_PATH_TRUNCATED;
	e->path_len = w.off > VT_PATH_MAX ? VT_PATH_MAX : w.off;
	e->path_flags |= w.flags;
}

#endif /* VMATRACE_PATH_BPF_H */
