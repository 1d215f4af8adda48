// What this kernel offers vmatrace, probed at start (retsnoop-style): the
// session picks the best programs from it, degrades where the verifier
// refuses one, and `vmatrace check` explains it.
#pragma once

#include <map>
#include <string>
#include <vector>

// The functions behind the syscalls on this architecture (the BPF side's
// SYSCALL_FN in bpf/vmatrace.bpf.c names the same).
#define SYSCALL_FUNCTION_PREFIX "__x64_sys_"

namespace vmatrace {

struct Features {
  std::string kernel_release;
  bool btf = false;           // /sys/kernel/btf/vmlinux: CO-RE and tp_btf
  bool ringbuf = false;       // BPF ring buffer (5.8+)
  bool perf_fault_events = false;  // software events page-faults-min/-maj
  // Optional: see optional_features() for what each gives and what its absence costs.
  bool find_vma = false;
  bool probe_read = false;
  bool bpf_loop = false;
  bool task_pt_regs = false;
  bool task_storage = false;
  bool vma_iter = false;
  bool task_from_pid = false;
  bool special_names = false;
  bool fault_tracepoints = false;
  bool syscall_tracepoints = false;
  bool syscall_fentry = false;
  // Opt-in (--mmap-lock-hook): the mmap_lock tracepoint with 6.14+ arguments
  // and the BPF task work kfunc (6.18+).
  bool mmap_lock_hook = false;
  bool kprobes = false;       // informational: vmatrace does not need them
  bool tracefs = false;       // informational: vmatrace does not need it
  std::string lockdown;       // "none", "integrity", "confidentiality" or "unknown"
  bool is_root = false;
  // Optional features the kernel has but refused to a probe: name -> why.
  std::map<std::string, std::string> refused;
};

Features probe_features();

// An optional feature: vmatrace traces without it, and loses `loss`.
struct OptionalFeature {
  const char* name;     // for --without and check
  const char* needs;    // kernel version or condition
  const char* use;      // what vmatrace does with it
  const char* loss;     // what a trace lacks without it
  bool Features::*flag;
};
const std::vector<OptionalFeature>& optional_features();
const OptionalFeature* find_optional_feature(const std::string& name);

// Names of the optional features, for --without: run as if this kernel lacked
// them, to see, and test, what vmatrace does on such a kernel.
std::vector<std::string> optional_feature_names();
bool disable_feature(Features* f, const std::string& name);

// Why tracing cannot start on this kernel, or "" when it can.
std::string missing_requirement(const Features& f);

}  // namespace vmatrace
