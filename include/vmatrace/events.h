/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The one BPF <-> user-space event ABI of vmatrace.
 *
 * Every record the BPF programs put into the ring buffer starts with
 * struct vt_hdr; hdr.kind says which struct follows and hdr.size how many
 * bytes the whole record has. All fields are fixed width and naturally
 * aligned with explicit padding, so the layout is the same for clang -target
 * bpf and for the host C++ compiler (checked with static_assert in
 * user/events/abi_check.cpp).
 *
 * This header is included by bpf/ (after vmlinux.h, which provides __u64 & co)
 * and by user/ (after <linux/types.h>).
 */
#ifndef VMATRACE_EVENTS_H
#define VMATRACE_EVENTS_H

#define VT_PATH_MAX 1024 /* bytes of path carried per record (NUL separated components); a power of two */
#define VT_MAX_PATH_DEPTH 48

enum vt_kind {
	VT_EV_SYSCALL = 1, /* an address-space syscall completed */
	VT_EV_FAULT = 2,   /* a user page fault completed (or never did) */
	VT_EV_VMA = 3,     /* one VMA as the kernel holds it right now */
	VT_EV_EXEC = 4,    /* a traced process replaced its image */
	VT_EV_FORK = 5,    /* a traced task created a process or thread */
	VT_EV_EXIT = 6,    /* a traced task exited */
	VT_EV_SNAPSHOT = 7, /* closes a run of VT_EV_VMA records: the kernel's VMAs in a range */
	VT_EV_BATCH = 8,    /* several records in one: each with its own header, 8-byte aligned */
};

/* Values of the BPF `targets` map (tgid -> state), written by both sides. */
enum vt_target_state {
	VT_TARGET_TRACED = 1,
	VT_TARGET_AWAIT_EXEC = 2, /* vmatrace's gated child: traced from its exec on */
};
/* Slots of the `target_slots` map: slot tgid % VT_TARGET_SLOTS is 1 before tgid enters `targets`. */
#define VT_TARGET_SLOTS 16384

/* Address-space syscalls, numbered independently of any architecture. */
enum vt_syscall {
	VT_SC_MMAP = 1,
	VT_SC_MUNMAP,
	VT_SC_BRK,
	VT_SC_MPROTECT,
	VT_SC_PKEY_MPROTECT,
	VT_SC_MREMAP,
	VT_SC_MADVISE,
	VT_SC_MLOCK,
	VT_SC_MLOCK2,
	VT_SC_MUNLOCK,
	VT_SC_MLOCKALL,
	VT_SC_MUNLOCKALL,
	VT_SC_SHMAT,
	VT_SC_SHMDT,
	VT_SC_PRCTL,
	VT_SC_MSEAL,
	VT_SC_MAX,
	/* unlink/rename by a target: no event of its own, but a snapshot, since
	 * /proc/PID/maps prints a mapped file's current name and "(deleted)". */
	VT_SC_PATH_CHANGE = 100,
};

/* Reasons an event was counted instead of delivered: index into the BPF `lost` map. */
enum vt_lost_reason {
	VT_LOST_RINGBUF_SYSCALL = 0, /* ring buffer full */
	VT_LOST_RINGBUF_FAULT,
	VT_LOST_RINGBUF_VMA,
	VT_LOST_RINGBUF_TASK,        /* exec, fork, exit */
	VT_LOST_FAULT_SHED,          /* fault dropped to keep room for VMA changes */
	VT_LOST_SYSCALL_MAP_FULL,    /* too many syscalls in flight to remember args */
	VT_LOST_FAULT_MAP_FULL,      /* too many faults in flight to time them */
	VT_LOST_VMA_BUSY,            /* bpf_find_vma or the VMA iterator could not take mmap_lock */
	VT_LOST_RINGBUF_SNAPSHOT,    /* ring buffer full: a snapshot's closing record */
	VT_LOST_SYSCALL_RETURN,      /* --mmap-lock-hook: a call's return could not be caught */
	VT_LOST_MAX,
};

struct vt_hdr {
	__u64 ts;   /* CLOCK_MONOTONIC ns (bpf_ktime_get_ns) */
	__u32 pid;  /* tgid */
	__u32 tid;
	__u16 kind; /* enum vt_kind */
	__u16 size; /* bytes of the whole record */
	__u32 cpu;
};

struct vt_syscall_event {
	struct vt_hdr hdr;
	__u16 sc;          /* enum vt_syscall */
	__u16 flags;       /* 0: reserved */
	__u32 duration_ns; /* sys_enter to sys_exit, saturated */
	__s64 ret;         /* return value, -errno on failure */
	__u64 args[6];     /* raw arguments in man-page order */
};

/* vt_fault_event.flags */
#define VT_FAULT_MAJOR 0x1       /* PAGE_FAULTS_MAJ: the fault did I/O or retried */
#define VT_FAULT_INCOMPLETE 0x2  /* entered but never completed (signal, error) */
#define VT_FAULT_KERNEL 0x4      /* taken in kernel mode on a user address (copy_*_user) */
#define VT_FAULT_NO_ENTRY 0x8    /* completion without a recorded entry: latency unknown */

/* x86 page fault error_code bits (arch/x86/include/asm/trap_pf.h) */
#define VT_PF_PROT 0x1
#define VT_PF_WRITE 0x2
#define VT_PF_USER 0x4
#define VT_PF_INSTR 0x10

struct vt_fault_event {
	struct vt_hdr hdr;
	__u64 addr;        /* faulting address (CR2) */
	__u64 ip;          /* user instruction pointer */
	__u32 latency_ns;  /* entry to completion, saturated */
	__u16 error_code;  /* hardware error code, VT_PF_* */
	__u16 flags;       /* VT_FAULT_* */
	__s32 stack_id;    /* user stack in the stacks map (--stacks); -1 not sampled, else -errno */
	__u32 _pad;
};

#define VT_STACK_DEPTH 127 /* frames per stack in the stacks map */

/* vt_vma_event.reason */
enum vt_vma_reason {
	VT_VMA_MAPPED = 1,   /* the VMA an mmap/mremap/shmat returned (bpf_find_vma) */
	VT_VMA_SNAPSHOT = 2, /* one VMA of a snapshot; a vt_snapshot_event follows */
};

/* vt_vma_event.path_flags */
#define VT_PATH_FILE 0x1      /* vma has a file: dev/ino/path are valid */
#define VT_PATH_DELETED 0x2   /* the file was unlinked */
#define VT_PATH_TRUNCATED 0x4 /* deeper than VT_MAX_PATH_DEPTH or longer than VT_PATH_MAX */
#define VT_PATH_UNKNOWN 0x8   /* this kernel would not let BPF read the name */
#define VT_PATH_SPECIAL 0x10  /* no file: path is a special mapping's name, "[vdso]" */

struct vt_vma_event {
	struct vt_hdr hdr;
	__u64 start;
	__u64 end;
	__u64 flags;     /* vm_flags */
	__u64 pgoff;     /* vm_pgoff, in pages */
	__u64 ino;
	__u32 dev;       /* kernel dev_t: major << 20 | minor */
	__u16 reason;    /* enum vt_vma_reason */
	__u16 path_len;  /* bytes used in path */
	__u32 path_flags;
	__u32 _pad;
	/* Path components leaf first, each NUL terminated: "libc.so.6\0lib\0usr\0".
	 * The record ends after path_len bytes (rounded up to 8): hdr.size. */
	char path[VT_PATH_MAX];
};

/* vt_snapshot_event.reason */
enum vt_snap_reason {
	VT_SNAP_SYSCALL = 1, /* after an address-space syscall (vt_snapshot_event.sc) */
	VT_SNAP_SEED = 2,    /* the whole address space when tracing starts */
	VT_SNAP_EXEC = 3,    /* the whole new address space after exec */
	VT_SNAP_FORK = 4,    /* the whole address space of a new child */
};

/*
 * The kernel's VMAs overlapping the bytes [lo, hi] (hi inclusive), read under
 * mmap_lock: the VT_EV_VMA records with reason VT_VMA_SNAPSHOT that the same
 * thread (hdr.tid) emitted just before, count of them. hdr.pid is the process
 * whose address space it is (not always the emitter's). Records of one
 * snapshot are emitted while the lock is held, so snapshots close in the order
 * the kernel's VMA tree changed.
 */
struct vt_snapshot_event {
	struct vt_hdr hdr;
	__u64 mm;          /* identity of the address space (kernel pointer) */
	__u64 lo;
	__u64 hi;
	__u64 start_brk;   /* mm fields that name VMAs: [heap], [stack] */
	__u64 brk;
	__u64 start_stack;
	__u32 count;
	__s32 status;      /* 0, or -errno: the walk failed and the range is unknown */
	__u16 reason;      /* enum vt_snap_reason */
	__u16 sc;          /* enum vt_syscall for VT_SNAP_SYSCALL */
	__u32 _pad;
};

/* madvise(VT_SEED_MAGIC, pid, VT_SEED_ADVICE) from vmatrace itself asks the BPF
 * side for a VT_SNAP_SEED snapshot of pid; the kernel rejects the advice. With
 * the mmap_lock hook: mprotect(0, 4096, 0) with VT_SEED_MAGIC and pid in its
 * unused fourth and fifth argument registers (r10, r8). */
#define VT_SEED_MAGIC 0x766d617472616365ULL /* "vmatrace" */
#define VT_SEED_ADVICE 0x7674

struct vt_exec_event {
	struct vt_hdr hdr;
	__u32 old_tid;   /* the exec'ing thread's tid before exec made it the leader */
	__u16 filename_len;
	__u16 _pad;
	__u64 mm;        /* the new address space */
	char filename[VT_PATH_MAX];
};

#define VT_FORK_THREAD 0x1

struct vt_fork_event {
	struct vt_hdr hdr;
	__u32 child_pid;
	__u32 child_tid;
	__u32 flags;     /* VT_FORK_* */
	__u32 _pad;
	__u64 child_mm;  /* the child's address space (== the parent's for threads and vfork) */
};

#define VT_EXIT_GROUP_DEAD 0x1 /* the last thread: the process is gone */

struct vt_exit_event {
	struct vt_hdr hdr;
	__s32 exit_code; /* wait status as the kernel stores it */
	__u32 flags;     /* VT_EXIT_* */
};

#endif /* VMATRACE_EVENTS_H */
