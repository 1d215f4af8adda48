// bystander_faults HOOKS [PAIRS [MIB]]: what this process's page faults pay
// while HOOKS trace another (sleeping) process, measured in alternate windows:
// each window touches MIB of fresh 4 KiB pages once, with the hooks attached
// or detached, the two in a random order within each of PAIRS pairs.
//
// Runs of whole storms, tracer started and stopped around each, move by
// ±10-50% on this machine (README, Overhead): the host's noise drifts slower
// than a window of a few milliseconds, so pairs of adjacent windows cancel it.
//
// HOOKS:
//   none         nothing either way: the method's own noise (a ratio of 1.000)
//   perf_count   the sleeper's page-faults-min/-maj events counting, no program
//                (what perf stat -p opens)
//   perf_sample  the same sampling every fault (what perf record -p opens)
//   empty        an empty program on the fault-entry tracepoint
//   (hook_floor.bpf.c) tgid_test    one that only tests the tgid there vmatrace
//   vmatrace's own fault programs, attached as a recording attaches
//                them: on_pf_user and on_pf_kernel on the fault-entry
//                tracepoints, on_fault_min and on_fault_maj on the sleeper's
//                page-fault perf events (attach_task_fault_perf_events), its
//                tgid in targets and target_slots
//   vmatrace_no_entry  the same without the fault-entry tracepoints
//                (vmatrace --without fault_tracepoints)
//
// Prints one markdown row (scripts/bench.sh prints the header): what HOOKS
// are, the pairs, ns per fault detached and attached (medians of the windows),
// the extra ns, the ratio of the medians, the median of the pairs' ratios and
// its 95% confidence interval (order statistics).
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/perf_event.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "bpf/links.h"
#include "hook_floor.skel.h"
#include "vmatrace.skel.h"
#include "vmatrace/events.h"

namespace {

constexpr size_t kPage = 4096;

// Attaches and detaches one set of hooks, loaded once.
class Hooks {
 public:
  virtual ~Hooks() = default;
  virtual bool attach() = 0;
  virtual void detach() { vmatrace::destroy_links(&links_); }

 protected:
  bool keep(bpf_link* l) {
    if (!l) return false;
    links_.emplace_back(l);
    return true;
  }

 private:
  std::vector<vmatrace::BpfLinkPtr> links_;
};

class NoHooks : public Hooks {
 public:
  bool attach() override { return true; }
};

class FloorHooks : public Hooks {
 public:
  bool load(const std::string& program, pid_t target) {
    skel_.reset(hook_floor_bpf__open());
    if (!skel_) return false;
    skel_->rodata->target_tgid = static_cast<__u32>(target);
    bpf_program* p;
    bpf_object__for_each_program(p, skel_->obj) {
      bool mine = program == bpf_program__name(p);
      bpf_program__set_autoload(p, mine);
      if (mine) prog_ = p;
    }
    bpf_map__set_autocreate(skel_->maps.works, false);
    return prog_ && !hook_floor_bpf__load(skel_.get());
  }
  bool attach() override { return keep(bpf_program__attach(prog_)); }

 private:
  struct Deleter {
    void operator()(hook_floor_bpf* s) const { hook_floor_bpf__destroy(s); }
  };
  std::unique_ptr<hook_floor_bpf, Deleter> skel_;
  bpf_program* prog_ = nullptr;
};

class VmatraceHooks : public Hooks {
 public:
  bool load(pid_t target) {
    target_ = target;
    skel_.reset(vmatrace_bpf__open());
    if (!skel_) return false;
    bpf_program* p;
    bpf_object__for_each_program(p, skel_->obj) bpf_program__set_autoload(p, false);
    for (bpf_program* mine :
         {skel_->progs.on_pf_user, skel_->progs.on_pf_kernel, skel_->progs.on_fault_min, skel_->progs.on_fault_maj})
      bpf_program__set_autoload(mine, true);
    skel_->rodata->self_tgid = static_cast<__u32>(getpid());
    if (vmatrace_bpf__load(skel_.get())) return false;
    __u32 tgid = static_cast<__u32>(target), traced = VT_TARGET_TRACED, slot = tgid % VT_TARGET_SLOTS;
    __u8 one = 1;
    return !bpf_map__update_elem(skel_->maps.targets, &tgid, sizeof(tgid), &traced, sizeof(traced), BPF_ANY) &&
           !bpf_map__update_elem(skel_->maps.target_slots, &slot, sizeof(slot), &one, sizeof(one), BPF_ANY);
  }
  bool fault_entry = true;
  bool attach() override {
    bool entry_ok = !fault_entry || (keep(bpf_program__attach(skel_->progs.on_pf_user)) &&
                                     keep(bpf_program__attach(skel_->progs.on_pf_kernel)));
    return entry_ok &&
           static_cast<bool>(vmatrace::attach_task_fault_perf_events(
               skel_->progs.on_fault_min, skel_->progs.on_fault_maj, target_, [this](bpf_link* l) { keep(l); }));
  }

 private:
  struct Deleter {
    void operator()(vmatrace_bpf* s) const { vmatrace_bpf__destroy(s); }
  };
  std::unique_ptr<vmatrace_bpf, Deleter> skel_;
  pid_t target_ = 0;
};

// The target's page-fault software events with no program: what perf
// record -p opens (sampling every fault), or a counter (perf stat -p).
class PerfEventsAlone : public Hooks {
 public:
  PerfEventsAlone(pid_t target, bool sampling) : target_(target), sampling_(sampling) {}
  bool attach() override {
    for (unsigned long long config : {PERF_COUNT_SW_PAGE_FAULTS_MIN, PERF_COUNT_SW_PAGE_FAULTS_MAJ}) {
      perf_event_attr attr{};
      attr.type = PERF_TYPE_SOFTWARE;
      attr.size = sizeof(attr);
      attr.config = config;
      attr.sample_period = sampling_ ? 1 : 0;
      attr.inherit = 1;
      int fd = static_cast<int>(syscall(__NR_perf_event_open, &attr, target_, -1, -1, PERF_FLAG_FD_CLOEXEC));
      if (fd < 0) return false;
      fds_.push_back(fd);
    }
    return true;
  }
  void detach() override {
    for (int fd : fds_) close(fd);
    fds_.clear();
  }

 private:
  pid_t target_;
  bool sampling_;
  std::vector<int> fds_;
};

double now_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e9 + ts.tv_nsec;
}

// ns per first touch of a fresh page, over len bytes; < 0 if mmap failed.
double window_ns_per_fault(size_t len) {
  char* p = static_cast<char*>(mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  if (p == MAP_FAILED) return -1;
  madvise(p, len, MADV_NOHUGEPAGE);
  double t0 = now_ns();
  for (size_t off = 0; off < len; off += kPage) p[off] = 1;
  double ns = (now_ns() - t0) / static_cast<double>(len / kPage);
  munmap(p, len);
  return ns;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// The ranks that bound a median's 95% confidence interval (normal
// approximation to the binomial), as values of the sorted v.
std::pair<double, double> median_interval(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  double n = static_cast<double>(v.size()), half = 1.96 * std::sqrt(n) / 2;
  auto at = [&](double rank) { return v[static_cast<size_t>(std::clamp(rank, 0.0, n - 1))]; };
  return {at(std::floor(n / 2 - half)), at(std::ceil(n / 2 + half) - 1)};
}

pid_t start_sleeper() {
  pid_t pid = fork();
  if (pid == 0) {
    for (;;) pause();
  }
  return pid;
}

std::unique_ptr<Hooks> load_hooks(const std::string& name, pid_t target) {
  if (name == "none") return std::make_unique<NoHooks>();
  if (name == "empty" || name == "tgid_test") {
    auto h = std::make_unique<FloorHooks>();
    return h->load(name, target) ? std::move(h) : nullptr;
  }
  if (name == "perf_sample" || name == "perf_count")
    return std::make_unique<PerfEventsAlone>(target, name == "perf_sample");
  if (name == "vmatrace" || name == "vmatrace_no_entry") {
    auto h = std::make_unique<VmatraceHooks>();
    h->fault_entry = name == "vmatrace";
    return h->load(target) ? std::move(h) : nullptr;
  }
  return nullptr;
}

int run(const std::string& name, const char* label, int pairs, size_t mib) {
  pid_t sleeper = start_sleeper();
  if (sleeper < 0) return std::perror("fork"), 1;
  std::unique_ptr<Hooks> hooks = load_hooks(name, sleeper);
  if (!hooks) {
    std::fprintf(stderr, "bystander_faults: cannot load %s: %s\n", name.c_str(), std::strerror(errno));
    kill(sleeper, SIGKILL);
    waitpid(sleeper, nullptr, 0);
    return 1;
  }
  std::vector<double> detached, attached, ratios;
  std::mt19937 order(std::random_device{}());
  bool ok = true;
  for (int i = 0; i < pairs && ok; i++) {
    double ns[2];
    bool attached_first = order() & 1;
    for (int k = 0; k < 2 && ok; k++) {
      bool on = (k == 0) == attached_first;
      if (on) ok = hooks->attach();
      ns[on] = window_ns_per_fault(mib << 20);
      hooks->detach();
      ok = ok && ns[on] > 0;
    }
    if (!ok) break;
    detached.push_back(ns[0]);
    attached.push_back(ns[1]);
    ratios.push_back(ns[1] / ns[0]);
  }
  kill(sleeper, SIGKILL);
  waitpid(sleeper, nullptr, 0);
  if (!ok) {
    std::fprintf(stderr, "bystander_faults: %s: a window failed: %s\n", name.c_str(), std::strerror(errno));
    return 1;
  }
  double d = median(detached), a = median(attached);
  auto [lo, hi] = median_interval(ratios);
  std::printf("| %-42s | %5d | %8.1f | %8.1f | %+6.1f | %6.3fx | %6.3fx | %.3f-%.3f |\n", label, pairs, d, a, a - d,
              a / d, median(ratios), lo, hi);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::pair<const char*, const char*> kinds[] = {
      {"none", "nothing (the method's own noise)"},
      {"perf_count", "perf stat -p's events (counting)"},
      {"perf_sample", "perf record -p's events (every fault)"},
      {"empty", "an empty program on the fault-entry hook"},
      {"tgid_test", "a tgid test on the fault-entry hook"},
      {"vmatrace", "vmatrace's fault programs"},
      {"vmatrace_no_entry", "vmatrace --without fault_tracepoints"},
  };
  const auto* kind = argc >= 2 ? std::find_if(std::begin(kinds), std::end(kinds),
                                              [&](const auto& k) { return !std::strcmp(argv[1], k.first); })
                               : std::end(kinds);
  int pairs = argc >= 3 ? std::atoi(argv[2]) : 200;
  long mib = argc >= 4 ? std::atol(argv[3]) : 4;
  if (kind == std::end(kinds) || argc > 4 || pairs < 1 || mib < 1) {
    std::fprintf(stderr,
                 "usage: bystander_faults {none|perf_count|perf_sample|empty|tgid_test|vmatrace|vmatrace_no_entry} "
                 "[PAIRS [MIB]]\n");
    return 2;
  }
  libbpf_set_print([](libbpf_print_level level, const char* fmt, va_list args) {
    return level == LIBBPF_WARN ? std::vfprintf(stderr, fmt, args) : 0;
  });
  return run(kind->first, kind->second, pairs, static_cast<size_t>(mib));
}
