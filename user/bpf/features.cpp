#include "bpf/features.h"

#include "bpf/tracefs.h"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <linux/perf_event.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
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

struct ProbeRefusal {
  int err = 0;      // errno of the refusal, 0 if it was taken
  std::string why;  // "" if it was taken
};

// What the kernel says to an fentry program on the syscall function that
// vmatrace hooks most, loaded and attached for real (verifier, trampoline and
// policy all have their say), then detached.
ProbeRefusal fentry_refusal(const char* function) {
  struct btf* btf = btf__load_vmlinux_btf();
  if (!btf) return {ENOENT, "no kernel BTF"};
  int id = btf__find_by_name_kind(btf, function, BTF_KIND_FUNC);
  btf__free(btf);
  if (id <= 0) return {ENOENT, std::string(function) + " is not in the kernel's BTF"};
  const struct bpf_insn ret0[] = {
      {BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0},
      {BPF_JMP | BPF_EXIT, 0, 0, 0, 0},
  };
  LIBBPF_OPTS(bpf_prog_load_opts, opts, .expected_attach_type = BPF_TRACE_FENTRY,
              .attach_btf_id = static_cast<__u32>(id));
  int prog = bpf_prog_load(BPF_PROG_TYPE_TRACING, "vt_probe_fentry", "GPL", ret0, 2, &opts);
  if (prog < 0) return {errno, std::string("loading fentry/") + function + ": " + strerror(errno)};
  ProbeRefusal r;
  int link = bpf_raw_tracepoint_open(nullptr, prog);
  if (link < 0)
    r = {errno, std::string("attaching fentry/") + function + ": " + strerror(errno)};
  else
    close(link);
  close(prog);
  return r;
}

// The mmap_lock tracepoints took a memcg_path before 6.14; the hook reads
// (mm, write, success).
bool lock_tracepoint_has_6_14_args(const struct btf* vmlinux) {
  int id = btf__find_by_name_kind(vmlinux, "btf_trace_mmap_lock_acquire_returned", BTF_KIND_TYPEDEF);
  if (id <= 0) return false;
  const btf_type* t = btf__type_by_id(vmlinux, btf__resolve_type(vmlinux, id));
  if (t && btf_is_ptr(t)) t = btf__type_by_id(vmlinux, t->type);
  return t && btf_is_func_proto(t) && btf_vlen(t) == 4;  // the context, then the three
}

bool mmap_lock_hook_usable() {
  struct btf* vmlinux = btf__load_vmlinux_btf();
  if (!vmlinux) return false;
  bool ok = btf__find_by_name_kind(vmlinux, "bpf_task_work_schedule_resume_impl", BTF_KIND_FUNC) > 0 &&
            lock_tracepoint_has_6_14_args(vmlinux);
  btf__free(vmlinux);
  return ok;
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
    f.mmap_lock_hook = mmap_lock_hook_usable();
  }
  if (!f.is_root) return f;  // the probes below load programs: root only
  f.ringbuf = libbpf_probe_bpf_map_type(BPF_MAP_TYPE_RINGBUF, nullptr) == 1;
  f.find_vma = helper(BPF_FUNC_find_vma);
  f.probe_read = helper(BPF_FUNC_probe_read_kernel_str);
  f.bpf_loop = helper(BPF_FUNC_loop);
  f.task_pt_regs = helper(BPF_FUNC_task_pt_regs);
  f.task_storage = helper(BPF_FUNC_task_storage_get);
  f.special_names = kallsyms_has("special_mapping_name");
  f.syscall_tracepoints = Tracefs().usable();
  if (f.btf) {
    ProbeRefusal r = fentry_refusal(SYSCALL_FUNCTION_PREFIX "mprotect");
    f.syscall_fentry = r.why.empty();
    // A kernel that lacks fentry says so differently from one whose policy
    // forbids it (EPERM, EACCES): only the latter refused it.
    if (r.err == EPERM || r.err == EACCES) f.refused["syscall_fentry"] = r.why;
  }
  f.perf_fault_events = perf_sw_event_opens(PERF_COUNT_SW_PAGE_FAULTS_MIN) &&
                        perf_sw_event_opens(PERF_COUNT_SW_PAGE_FAULTS_MAJ);
  return f;
}

const std::vector<OptionalFeature>& optional_features() {
  static const std::vector<OptionalFeature> kAll = {
      {"fault_tracepoints", "exceptions:page_fault_user/_kernel in BTF",
       "fault entry: access type, error code, ip and latency",
       "faults are counted without access type, ip or latency", &Features::fault_tracepoints},
      {"syscall_fentry", "fentry/fexit on " SYSCALL_FUNCTION_PREFIX "NAME (trampolines, not locked down)",
       "fentry/fexit on the syscall functions: other syscalls run nothing at all",
       "syscall tracepoints: every process's syscalls take the tracepoint slow path (+30-90 ns each where measured)",
       &Features::syscall_fentry},
      {"syscall_tracepoints", "tracefs (mounted for the attach if absent; empty under lockdown=confidentiality)",
       "per-syscall tracepoints: other processes' syscalls run no vmatrace code",
       "raw sys_enter/sys_exit: every syscall of every process runs a filter (+70-150 ns where measured)",
       &Features::syscall_tracepoints},
      {"vma_iter", "6.7+ (bpf_iter_task_vma kfuncs)",
       "exact VMA snapshots after every change: the model needs no prediction",
       "the VMA model predicts and resyncs from /proc/PID/maps (merges only as good as the last resync)",
       &Features::vma_iter},
      {"task_from_pid", "6.2+ (bpf_task_from_pid kfunc)", "seeds the VMA model in order with the events",
       "the VMA model is seeded from /proc/PID/maps", &Features::task_from_pid},
      {"find_vma", "5.17+ (bpf_find_vma)", "the VMA a new mapping landed in, without the iterator",
       "without the iterator, new file mappings lack device/inode/path until a resync", &Features::find_vma},
      {"probe_read", "bpf_probe_read_kernel (withheld under lockdown=confidentiality)",
       "file paths, special mapping names and exec filenames from the kernel",
       "names are looked up in /proc while the mapping exists", &Features::probe_read},
      {"bpf_loop", "5.17+ (bpf_loop)", "the path walk of mapped files",
       "file paths are looked up in /proc while the mapping exists", &Features::bpf_loop},
      {"task_storage", "task storage in perf_event programs", "per-thread state without hashing",
       "a tid-keyed hash map instead (slower)", &Features::task_storage},
      {"task_pt_regs", "5.15+ (bpf_task_pt_regs)", "the user ip of faults taken inside syscalls",
       "faults inside syscalls have no ip", &Features::task_pt_regs},
      {"special_names", "special_mapping_name in kallsyms", "names [vdso], [vvar], [uprobes]",
       "special mappings are unnamed", &Features::special_names},
  };
  return kAll;
}

const OptionalFeature* find_optional_feature(const std::string& name) {
  for (const auto& f : optional_features())
    if (name == f.name) return &f;
  return nullptr;
}

std::vector<std::string> optional_feature_names() {
  std::vector<std::string> names;
  for (const auto& f : optional_features()) names.emplace_back(f.name);
  return names;
}

bool disable_feature(Features* f, const std::string& name) {
  const OptionalFeature* of = find_optional_feature(name);
  if (of) f->*(of->flag) = false;
  return of != nullptr;
}

std::string missing_requirement(const Features& f) {
  if (!f.is_root) return "must run as root to load BPF programs";
  if (!f.btf) return "kernel has no BTF (/sys/kernel/btf/vmlinux missing): CONFIG_DEBUG_INFO_BTF is required";
  if (!f.ringbuf) return "kernel has no BPF ring buffer (Linux 5.8+ required)";
  if (!f.perf_fault_events) return "cannot open page-fault perf events (perf_event_open refused)";
  return "";
}

}  // namespace vmatrace
