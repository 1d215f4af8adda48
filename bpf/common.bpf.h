/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What every vmatrace BPF program shares: settings written by user space
 * before load, the ring buffer and its wakeup policy, the traced-process and
 * per-thread state maps, and loss counting.
 */
#ifndef VMATRACE_COMMON_BPF_H
#define VMATRACE_COMMON_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "vmatrace/events.h"

/* errno values and flags the programs test (uapi headers clash with vmlinux.h). */
#define EBUSY 16
#define ENOSPC 28
#define EAGAIN 11
#define ENOSYS 38
#define MAP_FIXED 0x10
#define MREMAP_FIXED 2
#define PR_SET_VMA 0x53564d41
#define PAGE_SIZE_ 4096ULL
/* x86-64: user addresses are below this even with 5-level paging. */
#define USER_ADDR_LIMIT (1ULL << 56)

/* ---- settings: written by user space before load (user/bpf/session.cpp) ---- */
const volatile bool follow_children = false;
const volatile bool have_find_vma = true;      /* bpf_find_vma, 5.17+ */
const volatile bool have_probe_read = true;    /* refused under lockdown=confidentiality */
const volatile bool have_bpf_loop = true;      /* bpf_loop, 5.17+: the path walk */
const volatile bool have_task_pt_regs = true;  /* bpf_task_pt_regs, 5.15+ */
const volatile bool use_task_storage = true;   /* task storage in perf_event programs */
const volatile bool have_special_names = true; /* special_mapping_name resolved from kallsyms */
const volatile __u32 self_tgid = 0;
const volatile bool syscalls_at_lock = false;  /* --mmap-lock-hook: lk_write_locked is loaded */
const volatile __u32 stack_every = 0;          /* --stacks: a user stack every Nth fault (0: none) */
const volatile __u64 wakeup_bytes = 256 * 1024;
const volatile __u64 fault_shed_bytes = 12 << 20;

/* ---- maps ---- */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 16 << 20); /* resized by user space */
} events SEC(".maps");

/* tgid -> VT_TARGET_* for every traced process */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__type(key, __u32);
	__type(value, __u32);
} targets SEC(".maps");

/*
 * tgid % VT_TARGET_SLOTS -> 1 if some traced process may have that tgid. Every
 * process's faults and address-space syscalls ask "traced?"; for the rest of
 * the machine a clear slot answers without hashing (an array lookup is inlined).
 * Set with each target (user space, follow_children's fork); never cleared: a
 * stale slot only costs the hash lookup it saves.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, VT_TARGET_SLOTS);
	__type(key, __u32);
	__type(value, __u8);
} target_slots SEC(".maps");

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

/* A VMA or exec record plus slack, so that a masked offset into path never
 * needs a bounds check; too big for the 512-byte BPF stack. */
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

/* ---- helpers ---- */
static __always_inline void count_lost(__u32 reason)
{
	__u64 *n = bpf_map_lookup_elem(&lost, &reason);

	if (n)
		*n += 1;
}

static __always_inline bool may_be_target(__u32 tgid)
{
	__u32 slot = tgid % VT_TARGET_SLOTS;
	__u8 *set = bpf_map_lookup_elem(&target_slots, &slot);

	return set && *set;
}

static __always_inline void mark_target_slot(__u32 tgid)
{
	__u32 slot = tgid % VT_TARGET_SLOTS;
	__u8 one = 1;

	bpf_map_update_elem(&target_slots, &slot, &one, BPF_ANY);
}

static __always_inline bool is_target(__u32 tgid)
{
	__u32 *state;

	if (!may_be_target(tgid))
		return false;
	state = bpf_map_lookup_elem(&targets, &tgid);
	return state && *state == VT_TARGET_TRACED;
}

static __always_inline __u32 current_tgid(void)
{
	return bpf_get_current_pid_tgid() >> 32;
}

/* Only traced threads ever get a thread_state, so finding one also answers
 * "is this thread traced?" without the targets hash lookup on hot paths; a
 * clear target slot answers it for the rest of the machine without looking. */
static __always_inline struct thread_state *slotted_thread_state(bool create);

static __always_inline struct thread_state *thread_state(bool create)
{
	if (!create && !may_be_target(current_tgid()))
		return NULL;
	return slotted_thread_state(create);
}

/* thread_state() for a thread whose caller has seen its tgid's slot set. */
static __always_inline struct thread_state *slotted_thread_state(bool create)
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

/*
 * Wake the consumer only once a batch has piled up; it also polls on a timer.
 * Past the mark every record forces a wakeup, an interrupt each. At most one a
 * millisecond instead made the syscall storm's exit programs ~30% cheaper, but
 * a consumer competing for its CPU then fell behind: 2 of 8 storms beside two
 * CPU hogs lost events (7 and 33,573), none of 8 with a wakeup a record.
 */
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

static __always_inline struct vma_scratch *scratch_area(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&scratch, &zero);
}

#endif /* VMATRACE_COMMON_BPF_H */
