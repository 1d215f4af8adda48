// SPDX-License-Identifier: GPL-2.0
/*
 * The floor under vmatrace's fault-entry program (bpf/vmatrace.bpf.c,
 * on_pf_user): what the page_fault_user hook costs every fault on the machine
 * with a program that does nothing, and with one that only asks "is this the
 * traced process?", which any tracer of one process must ask on a hook that
 * runs for all of them. scripts/bench.sh runs them beside another process's
 * fault storm.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

const volatile __u32 target_tgid = 0;
__u64 target_faults = 0;

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

char LICENSE[] SEC("license") = "GPL";
