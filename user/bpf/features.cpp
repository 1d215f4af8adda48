#include "bpf/features.h"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <linux/perf_event.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <fstream>

namespace vmatrace {
namespace {

bool exists(const char* path) {
  struct stat st;
  return stat(path, &st) == 0;
}

bool helper(enum bpf_func_id id) {
  return libbpf_probe_bpf_helper(BPF_PROG_TYPE_PERF_EVENT, id, nullptr) == 1;
}

bool btf_has(const char* name, int kind) {
  struct btf* btf = btf__load_vmlinux_btf();
  if (!btf) return false;
  bool found = btf__find_by_name_kind(btf, name, kind) > 0;
  btf__free(btf);
  return found;
}

bool kallsyms_has(const std::string& name) {
  std::ifstream in("/proc/kallsyms");
  std::string line;
  const std::string suffix = " " + name;
  while (std::getline(in, line))
    if (line.size() > suffix.size() && line.compare(line.size() - suffix.size(), suffix.size(), suffix) == 0 &&
        line.compare(0, 16, "0000000000000000") != 0)
      return true;
  return false;
}

bool perf_sw_event_opens(unsigned long long config) {
  perf_event_attr attr{};
  attr.type = PERF_TYPE_SOFTWARE;
  attr.size = sizeof(attr);
  attr.config = config;
  attr.sample_period = 1;
  attr.disabled = 1;
  int fd = static_cast<int>(syscall(__NR_perf_event_open, &attr, -1, 0, -1, PERF_FLAG_FD_CLOEXEC));
  if (fd < 0) return false;
  close(fd);
  return true;
}

std::string read_lockdown() {
  std::ifstream in("/sys/kernel/security/lockdown");
  std::string line;
  if (!in || !std::getline(in, line)) return "unknown";
  auto open = line.find('['), close = line.find(']');
  if (open == std::string::npos || close == std::string::npos) return "unknown";
  return line.substr(open + 1, close - open - 1);
}

}  // namespace

Features probe_features() {
  Features f;
  struct utsname u;
  if (uname(&u) == 0) f.kernel_release = u.release;
  f.is_root = geteuid() == 0;
  f.btf = exists("/sys/kernel/btf/vmlinux");
  f.kprobes = exists("/sys/bus/event_source/devices/kprobe");
  f.tracefs = exists("/sys/kernel/tracing/events") || exists("/sys/kernel/debug/tracing/events");
  f.lockdown = read_lockdown();
  if (f.btf) {
    f.fault_tracepoints = btf_has("btf_trace_page_fault_user", BTF_KIND_TYPEDEF);
    f.vma_iter = btf_has("bpf_iter_task_vma_new", BTF_KIND_FUNC);
    f.task_from_pid = btf_has("bpf_task_from_pid", BTF_KIND_FUNC);
  }
  if (!f.is_root) return f;  // the probes below load programs: root only
  f.ringbuf = libbpf_probe_bpf_map_type(BPF_MAP_TYPE_RINGBUF, nullptr) == 1;
  f.find_vma = helper(BPF_FUNC_find_vma);
  f.probe_read = helper(BPF_FUNC_probe_read_kernel_str);
  f.task_pt_regs = helper(BPF_FUNC_task_pt_regs);
  f.task_storage = helper(BPF_FUNC_task_storage_get);
  f.special_names = kallsyms_has("special_mapping_name");
  f.perf_fault_events = perf_sw_event_opens(PERF_COUNT_SW_PAGE_FAULTS_MIN) &&
                        perf_sw_event_opens(PERF_COUNT_SW_PAGE_FAULTS_MAJ);
  return f;
}

const std::vector<std::string>& optional_feature_names() {
  static const std::vector<std::string> kNames = {"find_vma",          "probe_read",   "task_storage",
                                                  "fault_tracepoints", "vma_iter",     "task_from_pid",
                                                  "special_names"};
  return kNames;
}

bool disable_feature(Features* f, const std::string& name) {
  bool* flag = name == "find_vma"            ? &f->find_vma
               : name == "probe_read"        ? &f->probe_read
               : name == "task_storage"      ? &f->task_storage
               : name == "fault_tracepoints" ? &f->fault_tracepoints
               : name == "vma_iter"          ? &f->vma_iter
               : name == "task_from_pid"     ? &f->task_from_pid
               : name == "special_names"     ? &f->special_names
                                             : nullptr;
  if (flag) *flag = false;
  return flag != nullptr;
}

std::vector<FeatureLine> describe(const Features& f) {
  return {
      {"root", f.is_root, "needed to load BPF programs"},
      {"kernel BTF (/sys/kernel/btf/vmlinux)", f.btf, "required: CO-RE relocations and tp_btf hooks"},
      {"BPF ring buffer", f.ringbuf, "required: event transport with batched wakeups"},
      {"tp_btf sys_enter/sys_exit", f.btf, "address-space syscalls with arguments and results"},
      {"tp_btf page_fault_user/_kernel", f.fault_tracepoints,
       f.fault_tracepoints ? "fault entry: access type, ip and latency"
                           : "missing: faults are counted without access type, ip or latency"},
      {"perf sw events page-faults-min/-maj", f.perf_fault_events,
       "required: fault completion with exact address, minor vs major"},
      {"bpf_find_vma (5.17+)", f.find_vma,
       f.find_vma ? "the VMA a mapping landed in: device, inode, flags"
                  : "missing: file mappings lack device/inode/path"},
      {"bpf_probe_read_kernel", f.probe_read,
       f.probe_read ? "file paths and exec filenames"
                    : "missing (lockdown=confidentiality?): file paths and exec names are not recorded"},
      {"bpf_task_pt_regs", f.task_pt_regs, "user ip of faults taken inside syscalls"},
      {"task storage in perf_event programs", f.task_storage,
       f.task_storage ? "per-thread fault and syscall state without hashing"
                      : "missing: a tid-keyed hash map instead (slower)"},
      {"task VMA iterator kfuncs (6.7+)", f.vma_iter,
       f.vma_iter ? "exact VMA snapshots after every change: the VMA model needs no prediction"
                  : "missing: the VMA model predicts and resyncs from /proc/PID/maps"},
      {"bpf_task_from_pid kfunc (6.2+)", f.task_from_pid,
       f.task_from_pid ? "seeds the VMA model in order with the events"
                       : "missing: the VMA model is seeded from /proc/PID/maps"},
      {"special_mapping_name (kallsyms)", f.special_names,
       f.special_names ? "names [vdso], [vvar], [uprobes]" : "missing: special mappings are unnamed"},
      {"kprobes", f.kprobes, "not needed"},
      {"tracefs", f.tracefs, "not needed (vmatrace attaches through bpf() only)"},
  };
}

std::string missing_requirement(const Features& f) {
  if (!f.is_root) return "must run as root to load BPF programs";
  if (!f.btf) return "kernel has no BTF (/sys/kernel/btf/vmlinux missing): CONFIG_DEBUG_INFO_BTF is required";
  if (!f.ringbuf) return "kernel has no BPF ring buffer (Linux 5.8+ required)";
  if (!f.perf_fault_events) return "cannot open page-fault perf events (perf_event_open refused)";
  return "";
}

}  // namespace vmatrace
