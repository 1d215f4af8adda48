/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The BPF <-> user-space ABI of `vmatrace watch` (bpf/watch.bpf.c).
 *
 * Fixed-width, naturally aligned fields with explicit padding, so that
 * clang -target bpf and the host C++ compiler lay them out alike (checked
 * with static_assert below). Included by bpf/ after vmlinux.h and by user/.
 */
#ifndef VMATRACE_WATCH_EVENTS_H
#define VMATRACE_WATCH_EVENTS_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define VT_WATCH_COMM_LEN 16

/* Sent when a process is gone: its final fault totals, so that faults taken
 * after the last /proc poll still count. */
struct vt_exit_record {
	__u32 tgid;
	__u32 pad;
	__u64 start_boottime; /* ns since boot, what /proc/PID/stat's starttime counts in ticks */
	__u64 min_flt;        /* the whole thread group's, as getrusage(RUSAGE_SELF) would say */
	__u64 maj_flt;
	__u64 cgroup_id;      /* cgroup v2 id (the directory's inode number) */
	char comm[VT_WATCH_COMM_LEN];
};

/* Indexes of the watch's lost-record counters. */
enum vt_watch_lost {
	VT_WATCH_LOST_RINGBUF = 0, /* the ring buffer was full */
	VT_WATCH_LOST_MAX,
};

/*
 * Fault latency (watch --latency): from the exceptions:page_fault_* entry to
 * the page-faults-min/-maj perf event the kernel sends once the fault is
 * accounted. Per CPU, per fault type (the map's key), read at scrape time:
 * no record per fault. Bucket i counts latencies in (2^(i-1), 2^i] ns
 * (bucket 0: 0 and 1 ns); the last bucket also holds everything above.
 */
#define VT_WATCH_LATENCY_BUCKETS 40 /* 2^39 ns: 9 minutes */

enum vt_watch_fault_type {
	VT_WATCH_FAULT_MINOR = 0,
	VT_WATCH_FAULT_MAJOR = 1,
	VT_WATCH_FAULT_TYPES,
};

struct vt_watch_latency {
	__u64 buckets[VT_WATCH_LATENCY_BUCKETS];
	__u64 sum_ns;
	__u64 unmatched; /* completed faults whose entry was not seen: not in the buckets */
};

#ifdef __cplusplus
static_assert(sizeof(vt_exit_record) == 56 && alignof(vt_exit_record) == 8, "vt_exit_record layout changed");
static_assert(__builtin_offsetof(vt_exit_record, start_boottime) == 8 && __builtin_offsetof(vt_exit_record, comm) == 40,
              "vt_exit_record fields moved");
static_assert(sizeof(vt_watch_latency) == (VT_WATCH_LATENCY_BUCKETS + 2) * 8, "vt_watch_latency layout changed");
static_assert(__builtin_offsetof(vt_watch_latency, sum_ns) == VT_WATCH_LATENCY_BUCKETS * 8,
              "vt_watch_latency fields moved");
#endif

#endif
