#include "bpf/session.h"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <dirent.h>
#include <linux/perf_event.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <set>

#include "bpf/libbpf_log.h"
#include "bpf/links.h"
#include "bpf/tracefs.h"
#include "events/abi.h"
#include "vmatrace.skel.h"

namespace vmatrace {
namespace {

// What on_sample returns to make libbpf stop (after consuming the sample).
constexpr int kBudgetSpent = -ECANCELED;

std::vector<pid_t> list_threads(pid_t tgid) {
  std::vector<pid_t> tids;
  DIR* d = opendir(("/proc/" + std::to_string(tgid) + "/task").c_str());
  if (!d) return tids;
  while (dirent* ent = readdir(d))
    if (ent->d_name[0] != '.') tids.push_back(static_cast<pid_t>(strtol(ent->d_name, nullptr, 10)));
  closedir(d);
  return tids;
}

// Per-task events take two descriptors a thread: a process of thousands of
// threads needs more than the usual soft limit of 1024.
void raise_open_file_limit() {
  rlimit r{};
  if (getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur < r.rlim_max) {
    r.rlim_cur = r.rlim_max;
    setrlimit(RLIMIT_NOFILE, &r);
  }
}

}  // namespace

void BpfSession::SkelDeleter::operator()(vmatrace_bpf* s) const { vmatrace_bpf__destroy(s); }

BpfSession::~BpfSession() {
  // Detach before the maps and programs go away.
  destroy_links(&links_);
  ring_.reset();
  skel_.reset();
}

Result<std::unique_ptr<BpfSession>> BpfSession::start(const Features& features,
                                                      const SessionOptions& opts,
                                                      RecordHandler handler) {
  std::unique_ptr<BpfSession> s(new BpfSession());
  s->handler_ = std::move(handler);
  s->features_ = features;
  if (opts.syscalls_at_mmap_lock && !(features.mmap_lock_hook && features.vma_iter && features.task_from_pid))
    return make_error(
        "--mmap-lock-hook needs Linux 6.18+ (the BPF task work kfunc, the mmap_lock tracepoints' 6.14 "
        "arguments, the VMA iterator and bpf_task_from_pid)");
  if (auto st = s->load(opts); !st) return make_error(st.error());
  if (auto st = s->attach_programs(); !st) return make_error(st.error());
  s->tracefs_.reset();
  s->fault_events_per_task_ = opts.fault_events_per_task;
  if (!opts.fault_events_per_task)
    if (auto st = s->attach_perf_fault_events(); !st) return make_error(st.error());
  s->poll_budget_ = opts.ringbuf_bytes;
  ring_buffer* rb = ring_buffer__new(bpf_map__fd(s->skel_->maps.events), on_sample, s.get(), nullptr);
  if (!rb) return libbpf_error("cannot open the BPF ring buffer", errno);
  s->ring_.reset(rb);
  return s;
}

namespace {

bool starts_with(const std::string& s, const char* p) { return s.rfind(p, 0) == 0; }
bool ends_with(const std::string& s, const std::string& p) {
  return s.size() >= p.size() && s.compare(s.size() - p.size(), p.size(), p) == 0;
}

// The tracepoint a tp/syscalls/NAME program attaches to: NAME.
std::string syscall_event_of(bpf_program* p) {
  std::string sec = bpf_program__section_name(p);
  return sec.substr(sec.rfind('/') + 1);
}

// The function an fentry/ or fexit/ program attaches to, if this kernel has
// it (mseal is 6.10+).
bool kernel_has_function(const btf* vmlinux, bpf_program* p) {
  std::string sec = bpf_program__section_name(p);
  return vmlinux && btf__find_by_name_kind(vmlinux, sec.substr(sec.find('/') + 1).c_str(), BTF_KIND_FUNC) > 0;
}

// Which of a family's per-syscall programs to load: the ones whose hook
// exists, and of the seed/plain and snap/plain pairs the build this kernel
// can verify.
bool want_per_syscall(vmatrace_bpf* skel, const std::string& name, bool hook_exists, bool seed, bool snap) {
  if (!hook_exists) return false;
  if (ends_with(name, "_enter_madvise_seed")) return seed;
  if (ends_with(name, "_enter_madvise")) return !seed;
  if (ends_with(name, "_snap")) return snap;
  if (bpf_object__find_program_by_name(skel->obj, (name + "_snap").c_str())) return !snap;
  return true;
}

// One of each pair of programs: the `_snap` builds call the VMA iterator
// kfuncs, and a verifier that lacks them must never see them. Syscalls come
// in through one family, the best this kernel allows: fentry/fexit on the
// syscall functions (fe_*), per-syscall tracepoints (tp_*) or the raw
// tracepoints (on_sys_*); or, if asked, the mmap_lock hook (lk_*).
const char* syscall_hook_for(const Features& f, const Tracefs* tracefs, bool at_lock) {
  if (at_lock) return "mmap_lock";
  if (f.syscall_fentry) return "fentry";
  return f.syscall_tracepoints && tracefs ? "tracepoints" : "raw";
}

void choose_programs(vmatrace_bpf* skel, const Features& f, const std::string& hook, const Tracefs* tracefs) {
  const bool snap = f.vma_iter, seed = snap && f.task_from_pid;
  const bool at_lock = hook == "mmap_lock", fe = hook == "fentry", tp = hook == "tracepoints", raw = hook == "raw";
  auto& p = skel->progs;
  bpf_program__set_autoload(p.lk_write_locked, at_lock);
  bpf_program__set_autoload(p.on_sys_enter_snap, raw && seed);
  bpf_program__set_autoload(p.on_sys_enter, raw && !seed);
  bpf_program__set_autoload(p.on_sys_exit_snap, raw && snap);
  bpf_program__set_autoload(p.on_sys_exit, raw && !snap);
  bpf_program__set_autoload(p.on_exec_snap, snap);
  bpf_program__set_autoload(p.on_exec, !snap);
  bpf_program__set_autoload(p.on_fork_snap, snap);
  bpf_program__set_autoload(p.on_fork, !snap);
  bpf_program__set_autoload(p.on_pf_user, f.fault_tracepoints);
  bpf_program__set_autoload(p.on_pf_kernel, f.fault_tracepoints);
  btf* vmlinux = fe ? btf__load_vmlinux_btf() : nullptr;
  bpf_program* prog;
  bpf_object__for_each_program(prog, skel->obj) {
    std::string name = bpf_program__name(prog);
    if (starts_with(name, "tp_"))
      bpf_program__set_autoload(
          prog, tp && want_per_syscall(skel, name, tracefs->syscall_event_id(syscall_event_of(prog)) >= 0, seed, snap));
    else if (starts_with(name, "fe_"))
      bpf_program__set_autoload(prog, fe && want_per_syscall(skel, name, kernel_has_function(vmlinux, prog), seed, snap));
  }
  btf__free(vmlinux);
}

// The optional features a refused program depends on, the cheapest loss first.
std::vector<std::string> suspects(const std::string& program) {
  // A hook family refused as a whole gives way to the next (fentry, tracepoints, raw).
  const char* hook = starts_with(program, "fe_") ? "syscall_fentry" : "syscall_tracepoints";
  if (program == "tp_enter_madvise_seed" || program == "fe_enter_madvise_seed") return {"task_from_pid"};
  const bool exit_handler = program == "tp_exit_handler" || program == "tp_exit_handler_snap" ||
                            starts_with(program, "fe_exit_");
  if (exit_handler && ends_with(program, "_snap"))
    return {"special_names", "bpf_loop", "probe_read", "task_storage", hook, "vma_iter"};
  if (exit_handler) return {"special_names", "bpf_loop", "probe_read", "find_vma", "task_storage", hook};
  if (starts_with(program, "tp_") || starts_with(program, "fe_")) return {"task_storage", hook};
  if (program == "on_pf_kernel") return {"task_pt_regs", "task_storage", "fault_tracepoints"};
  if (program == "on_pf_user") return {"task_storage", "fault_tracepoints"};
  if (program == "lk_write_locked") return {"special_names", "bpf_loop", "probe_read", "task_storage"};
  if (program == "on_sys_enter_snap") return {"task_from_pid"};
  if (program == "on_sys_exit_snap" || program == "on_exec_snap" || program == "on_fork_snap")
    return {"special_names", "bpf_loop", "probe_read", "task_storage", "vma_iter"};
  if (program == "on_sys_exit") return {"special_names", "bpf_loop", "probe_read", "find_vma", "task_storage"};
  if (program == "on_exec") return {"probe_read", "task_storage"};
  return {"task_storage"};
}

bool is_exit_handler(vmatrace_bpf* skel, bpf_program* p) {
  auto& h = skel->progs;
  return p == h.tp_exit_handler || p == h.tp_exit_handler_snap;
}

}  // namespace

// Loads with every probed feature; where the verifier refuses a program,
// turns off the feature it most likely refused and tries again.
Status BpfSession::load(const SessionOptions& opts) {
  const size_t max_attempts = optional_features().size() + 1;
  for (size_t attempt = 0; attempt < max_attempts; attempt++) {
    clear_libbpf_messages();
    Status st = load_once(opts);
    if (st) return st;
    auto refusal = last_program_refusal();
    if (!refusal) return st;
    const OptionalFeature* off = nullptr;
    for (const auto& name : suspects(refusal->program)) {
      const OptionalFeature* f = find_optional_feature(name);
      if (f && features_.*(f->flag)) {
        off = f;
        break;
      }
    }
    if (!off)
      return make_error("the kernel refused vmatrace's BPF program " + refusal->program + ": " +
                        refusal->verifier_error + " (run with -v for the verifier's log)");
    features_.*(off->flag) = false;
    degradations_.push_back({off->name, refusal->program, refusal->verifier_error});
  }
  return make_error("the kernel refused vmatrace's BPF programs (run with -v for the verifier's log)");
}

Status BpfSession::load_once(const SessionOptions& opts) {
  skel_.reset();
  vmatrace_bpf* skel = vmatrace_bpf__open();
  if (!skel) return libbpf_error("cannot open the BPF object", errno);
  skel_.reset(skel);
  const Features& features = features_;
  auto* ro = skel->rodata;
  ro->follow_children = opts.follow_children;
  ro->have_find_vma = features.find_vma;
  ro->have_probe_read = features.probe_read;
  ro->have_bpf_loop = features.bpf_loop;
  ro->have_task_pt_regs = features.task_pt_regs;
  ro->use_task_storage = features.task_storage;
  ro->have_special_names = features.special_names;
  ro->self_tgid = static_cast<__u32>(getpid());
  ro->syscalls_at_lock = opts.syscalls_at_mmap_lock;
  if (auto st = size_ring_buffer(skel, opts.ringbuf_bytes); !st) return st;
  if (features.task_storage) bpf_map__set_max_entries(skel->maps.thread_hash, 1);
  ro->stack_every = opts.stack_every;
  if (opts.stack_every) bpf_map__set_max_entries(skel->maps.stacks, 16384);
  // tracefs only while attaching (the tracepoints hold on without the mount),
  // and only if the syscalls come in through its tracepoints.
  if (!opts.syscalls_at_mmap_lock && !features.syscall_fentry && features.syscall_tracepoints && !tracefs_)
    tracefs_ = std::make_unique<Tracefs>();
  syscall_hook_ = syscall_hook_for(features, tracefs_.get(), opts.syscalls_at_mmap_lock);
  choose_programs(skel, features, syscall_hook_, tracefs_.get());
  int err = vmatrace_bpf__load(skel);
  if (err) return libbpf_error("the kernel refused vmatrace's BPF programs", err);
  return install_exit_handler();
}

// The per-syscall exit programs tail-call this one (bpf/vmatrace.bpf.c).
Status BpfSession::install_exit_handler() {
  auto& p = skel_->progs;
  bpf_program* handler = nullptr;
  for (bpf_program* h : {p.tp_exit_handler, p.tp_exit_handler_snap})
    if (bpf_program__autoload(h)) handler = h;
  if (!handler) return Ok{};
  __u32 key = 0;
  int fd = bpf_program__fd(handler);
  if (bpf_map__update_elem(skel_->maps.exit_handler, &key, sizeof(key), &fd, sizeof(fd), BPF_ANY))
    return libbpf_error("cannot install the syscall exit handler", errno);
  return Ok{};
}

Status BpfSession::attach_programs() {
  bpf_program* p;
  bpf_object__for_each_program(p, skel_->obj) {
    if (!bpf_program__autoload(p) || bpf_program__type(p) == BPF_PROG_TYPE_PERF_EVENT) continue;
    if (is_exit_handler(skel_.get(), p)) continue;  // tail-called
    bpf_link* link = bpf_program__type(p) == BPF_PROG_TYPE_TRACEPOINT ? attach_syscall_tracepoint(p)
                                                                       : bpf_program__attach(p);
    if (!link)
      return libbpf_error(std::string("cannot attach ") + bpf_program__name(p), errno);
    links_.emplace_back(link);
  }
  return Ok{};
}

// libbpf would look the tracepoint up in /sys/kernel/tracing only; our tracefs
// may be a private mount. The same perf event libbpf opens, by our id.
bpf_link* BpfSession::attach_syscall_tracepoint(bpf_program* p) {
  long id = tracefs_ ? tracefs_->syscall_event_id(syscall_event_of(p)) : -1;
  if (id < 0) {
    errno = ENOENT;
    return nullptr;
  }
  perf_event_attr attr{};
  attr.type = PERF_TYPE_TRACEPOINT;
  attr.size = sizeof(attr);
  attr.config = static_cast<__u64>(id);
  attr.sample_period = 1;
  attr.wakeup_events = 1;
  int fd = static_cast<int>(syscall(__NR_perf_event_open, &attr, -1, 0, -1, PERF_FLAG_FD_CLOEXEC));
  if (fd < 0) return nullptr;
  bpf_link* link = bpf_program__attach_perf_event(p, fd);
  if (!link) {
    int err = errno;
    close(fd);
    errno = err;
  }
  return link;  // owns fd
}

Status BpfSession::attach_perf_fault_events() {
  return attach_fault_perf_events(skel_->progs.on_fault_min, skel_->progs.on_fault_maj,
                                  [this](bpf_link* l) { links_.emplace_back(l); });
}

// Every thread of tgid: one listed while the last was being attached is
// attached too, and a thread an attached one makes inherits its events.
Status BpfSession::attach_task_fault_events(pid_t tgid) {
  raise_open_file_limit();  // two events a thread
  std::set<pid_t> attached;
  auto keep = [this](bpf_link* l) { links_.emplace_back(l); };
  for (bool more = true; more;) {
    more = false;
    for (pid_t tid : list_threads(tgid)) {
      if (!attached.insert(tid).second) continue;
      more = true;
      if (auto st = attach_task_fault_perf_events(skel_->progs.on_fault_min, skel_->progs.on_fault_maj, tid, keep);
          !st)
        return st;
    }
  }
  return Ok{};
}

Status BpfSession::add_target(pid_t tgid) {
  if (auto st = mark_target(skel_.get(), tgid, VT_TARGET_TRACED); !st) return st;
  return fault_events_per_task_ ? attach_task_fault_events(tgid) : Ok{};
}

Status BpfSession::add_target_at_exec(pid_t tgid) {
  if (auto st = mark_target(skel_.get(), tgid, VT_TARGET_AWAIT_EXEC); !st) return st;
  return fault_events_per_task_ ? attach_task_fault_events(tgid) : Ok{};
}

Status mark_target(vmatrace_bpf* skel, pid_t tgid, uint32_t state) {
  __u32 key = static_cast<__u32>(tgid), slot = key % VT_TARGET_SLOTS;
  __u8 one = 1;
  // The slot first: the programs look there before the hash (bpf/common.bpf.h).
  if (bpf_map__update_elem(skel->maps.target_slots, &slot, sizeof(slot), &one, sizeof(one), BPF_ANY) ||
      bpf_map__update_elem(skel->maps.targets, &key, sizeof(key), &state, sizeof(state), BPF_ANY))
    return make_error(std::string("cannot add target: ") + strerror(errno));
  return Ok{};
}

bool BpfSession::request_seed(pid_t tgid) {
  if (!can_seed()) return false;
  if (syscall_hook_ == "mmap_lock") {
    // Seen by lk_write_locked (the magic and the pid ride in registers
    // mprotect does not read); the call takes our mmap_lock for writing,
    // then fails with ENOMEM: nothing is mapped at 0.
    syscall(SYS_mprotect, 0UL, 4096UL, 0UL, VT_SEED_MAGIC, static_cast<unsigned long>(tgid));
    return true;
  }
  // Seen by our sys_enter program (bpf/vma_snapshot.bpf.h: seed()); the kernel
  // itself rejects the advice with EINVAL.
  syscall(SYS_madvise, VT_SEED_MAGIC, static_cast<unsigned long>(tgid), VT_SEED_ADVICE);
  return true;
}

int BpfSession::on_sample(void* self, void* data, size_t size) {
  auto* s = static_cast<BpfSession*>(self);
  s->handler_(data, size);
  s->poll_consumed_ += size;
  return s->poll_consumed_ >= s->poll_budget_ ? kBudgetSpent : 0;
}

Result<int> BpfSession::poll(int timeout_ms) {
  poll_consumed_ = 0;
  auto failed = [](int r) { return r < 0 && r != -EINTR && r != kBudgetSpent; };
  int n = ring_buffer__poll(ring_.get(), timeout_ms);
  if (failed(n)) return make_error(std::string("reading the ring buffer: ") + strerror(-n));
  int m = n == kBudgetSpent ? 0 : ring_buffer__consume(ring_.get());
  if (failed(m)) return make_error(std::string("reading the ring buffer: ") + strerror(-m));
  return (n > 0 ? n : 0) + (m > 0 ? m : 0);
}

std::vector<uint64_t> BpfSession::stack(int32_t id) const {
  std::vector<uint64_t> ips(VT_STACK_DEPTH, 0);
  __u32 key = static_cast<__u32>(id);
  if (id < 0 || bpf_map__lookup_elem(skel_->maps.stacks, &key, sizeof(key), ips.data(), ips.size() * sizeof(__u64), 0))
    return {};
  while (!ips.empty() && ips.back() == 0) ips.pop_back();
  return ips;
}

LostCounts BpfSession::lost() const { return read_lost_counts(skel_.get()); }

Status size_ring_buffer(vmatrace_bpf* skel, size_t bytes) {
  skel->rodata->wakeup_bytes = bytes / 16;
  // Past 3/4 full, faults make way for the rarer events that change the VMA set.
  skel->rodata->fault_shed_bytes = bytes / 4 * 3;
  if (int err = bpf_map__set_max_entries(skel->maps.events, static_cast<__u32>(bytes)))
    return libbpf_error("cannot size the ring buffer", err);
  return Ok{};
}

LostCounts read_lost_counts(const vmatrace_bpf* skel) {
  LostCounts out;
  out.by_reason.assign(VT_LOST_MAX, 0);
  int ncpus = libbpf_num_possible_cpus();
  std::vector<__u64> values(static_cast<size_t>(ncpus > 0 ? ncpus : 1));
  for (__u32 r = 0; r < VT_LOST_MAX; r++) {
    if (bpf_map__lookup_elem(skel->maps.lost, &r, sizeof(r), values.data(),
                             values.size() * sizeof(__u64), 0) == 0)
      for (auto v : values) out.by_reason[r] += v;
  }
  return out;
}

}  // namespace vmatrace
