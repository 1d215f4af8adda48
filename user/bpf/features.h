// What this kernel offers vmatrace, probed at start (retsnoop-style): the
// recorder picks the best hooks from it and `vmatrace check` explains it.
#pragma once

#include <string>
#include <vector>

namespace vmatrace {

struct Features {
  std::string kernel_release;
  bool btf = false;           // /sys/kernel/btf/vmlinux: CO-RE and tp_btf
  bool ringbuf = false;       // BPF ring buffer (5.8+)
  bool find_vma = false;      // bpf_find_vma (5.17+): exact VMA of a new mapping
  bool probe_read = false;    // bpf_probe_read_kernel: refused under lockdown=confidentiality
  bool task_pt_regs = false;  // bpf_task_pt_regs (5.15+): user ip of kernel-mode faults
  bool task_storage = false;  // task-local storage in perf_event programs: cheaper per-thread state
  bool vma_iter = false;      // bpf_iter_task_vma kfuncs (6.7+): exact VMA snapshots
  bool task_from_pid = false; // bpf_task_from_pid kfunc (6.2+): seeding in order with events
  bool special_names = false; // special_mapping_name in kallsyms: [vdso], [vvar] names
  bool fault_tracepoints = false;  // exceptions:page_fault_user/_kernel in BTF
  bool perf_fault_events = false;  // software events page-faults-min/-maj
  bool kprobes = false;       // informational: vmatrace does not need them
  bool tracefs = false;       // informational: vmatrace does not need it
  std::string lockdown;       // "none", "integrity", "confidentiality" or "unknown"
  bool is_root = false;
};

Features probe_features();

// Names of the optional features (find_vma, probe_read, task_storage,
// fault_tracepoints), for --without: run as if this kernel lacked them, to
// see, and test, what vmatrace does on such a kernel.
const std::vector<std::string>& optional_feature_names();
bool disable_feature(Features* f, const std::string& name);

struct FeatureLine {
  std::string name;
  bool present;
  std::string use;  // what vmatrace does with it or without it
};
std::vector<FeatureLine> describe(const Features& f);

// Why tracing cannot start on this kernel, or "" when it can.
std::string missing_requirement(const Features& f);

}  // namespace vmatrace
