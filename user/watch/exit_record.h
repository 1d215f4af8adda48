/* The record bpf/watch.bpf.c sends when a process is gone: its final fault
 * totals, so that faults taken after the last /proc poll still count.
 * Shared by the BPF object and user space: fixed-size fields only. */
#ifndef VMATRACE_WATCH_EXIT_RECORD_H
#define VMATRACE_WATCH_EXIT_RECORD_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define VT_WATCH_COMM_LEN 16

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

#endif
