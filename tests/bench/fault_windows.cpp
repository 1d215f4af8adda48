// fault_windows [--self] HOOKS [PAIRS [MIB]]: what this process's page faults
// pay for HOOKS, measured in alternate windows: each window touches MIB of
// fresh 4 KiB pages once, with the hooks attached or detached, the two in a
// random order within each of PAIRS pairs. The hooks trace a sleeping child
// (another process's faults: what the rest of the machine pays), or with
// --self this process (the traced process's own faults).
//
// Runs of whole storms, tracer started and stopped around each, move by
// ±10-50% on this machine (README, Overhead): the host's noise drifts slower
// than a window of a few milliseconds, so pairs of adjacent windows cancel it.
//
// HOOKS:
//   none         nothing either way: the method's own noise (a ratio of 1.000)
//   perf_count   the target's page-faults-min/-maj events counting, no program
//                (what perf stat -p opens)
//   perf_count_entry  the same and the target's page-faults event, which the
//                kernel sends at each fault's entry
//   perf_record  what perf record -e page-faults -c 1 -d -p opens: the
//                target's page-faults event on each CPU, every fault sampled
//                (ip, tid, time, address) into a buffer per CPU
//   empty        an empty program on the fault-entry tracepoint (hook_floor.bpf.c)
//   tgid_test    one that only tests the tgid there
//   counting     a counting program on vmatrace's fault hooks: tgid_test, and
//                count_completion on the target's page-fault perf events
//   counting_event_entry  counting with its entry program on the target's
//                page-faults event instead of the tracepoint: per task, the
//                other hook with the fault's error code (orig_ax)
//   least_recording  the least a program on those hooks can do and still
//                record what vmatrace records of each fault: a clock at each
//                end, the entry in a per-CPU slot, one record written to a
//                ring buffer (hook_floor.bpf.c; a floor, not a tracer)
//   vmatrace     vmatrace's own fault programs, attached as a recording
//                attaches them: on_pf_user and on_pf_kernel on the fault-entry
//                tracepoints, on_fault_min and on_fault_maj on the target's
//                page-fault perf events (attach_task_fault_perf_events), the
//                target in targets and target_slots, its ring buffer sized and
//                drained as a recording's (records dropped, not decoded)
//   vmatrace_no_entry  the same without the fault-entry tracepoints
//                (vmatrace --without fault_tracepoints)
//   watch_latency  the programs vmatrace watch --latency adds, attached as it
//                attaches them: every process's faults timed (no target)
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
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "bpf/links.h"
#include "bpf/session.h"
#include "hook_floor.skel.h"
#include "vmatrace.skel.h"
#include "vmatrace/events.h"
#include "watch.skel.h"

namespace {

constexpr size_t kPage = 4096;

// Attaches and detaches one set of hooks, loaded once.
class Hooks {
 public:
  virtual ~Hooks() = default;
  virtual bool attach() = 0;
  virtual void detach() { vmatrace::destroy_links(&links_); }
  // Records the hooks could not write: a run that lost some did less work.
  virtual uint64_t lost() const { return 0; }

 protected:
  bool keep(bpf_link* l) {
    if (!l) return false;
    links_.emplace_back(l);
    return true;
  }
  bool keep_fault_events(bpf_program* on_min, bpf_program* on_maj, pid_t target) {
    return static_cast<bool>(
        vmatrace::attach_task_fault_perf_events(on_min, on_maj, target, [this](bpf_link* l) { keep(l); }));
  }

 private:
  std::vector<vmatrace::BpfLinkPtr> links_;
};

// A thread that empties a ring buffer as a recording would, dropping the
// records: woken by the records' wakeups, and every 100 ms for records that
// ask for none.
class RingDrain {
 public:
  ~RingDrain() {
    draining_ = false;
    if (thread_.joinable()) thread_.join();
  }
  bool start(int map_fd) {
    ring_.reset(ring_buffer__new(map_fd, drop_record, nullptr, nullptr));
    if (!ring_) return false;
    thread_ = std::thread([this] {
      while (draining_) ring_buffer__poll(ring_.get(), 100), ring_buffer__consume(ring_.get());
    });
    return true;
  }

 private:
  static int drop_record(void*, void*, size_t) { return 0; }
  vmatrace::RingBufferPtr ring_;
  std::atomic<bool> draining_{true};
  std::thread thread_;
};

class NoHooks : public Hooks {
 public:
  bool attach() override { return true; }
};

// The target's own software event CONFIG, inherited; with sample_period 1
// every fault is a sample (for a program), else it only counts.
int open_task_event(unsigned long long config, pid_t target, bool sample) {
  perf_event_attr attr{};
  attr.type = PERF_TYPE_SOFTWARE;
  attr.size = sizeof(attr);
  attr.config = config;
  attr.sample_period = sample ? 1 : 0;
  attr.inherit = 1;
  return static_cast<int>(syscall(__NR_perf_event_open, &attr, target, -1, -1, PERF_FLAG_FD_CLOEXEC));
}

// The target's page-fault software events counting, no program: what perf
// stat -p opens; with the page-faults event too (fault entry), what perf
// stat -e page-faults,minor-faults,major-faults -p opens.
class PerfCounters : public Hooks {
 public:
  PerfCounters(pid_t target, bool entry_event) : target_(target) {
    if (entry_event) configs_.push_back(PERF_COUNT_SW_PAGE_FAULTS);
  }
  bool attach() override {
    for (unsigned long long config : configs_) {
      int fd = open_task_event(config, target_, false);
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
  std::vector<unsigned long long> configs_{PERF_COUNT_SW_PAGE_FAULTS_MIN, PERF_COUNT_SW_PAGE_FAULTS_MAJ};
  std::vector<int> fds_;
};

// What perf record -e page-faults -c 1 -d -p opens: an event on each CPU for
// the target, sampling every fault into a buffer per CPU. A window's samples
// fit in its buffer (128 pages: windows up to ~50 MiB), so nothing reads them:
// the reader's wakeup, once per half buffer, is left out.
class PerfRecordEvents : public Hooks {
 public:
  explicit PerfRecordEvents(pid_t target) : target_(target) {}
  bool attach() override {
    constexpr size_t kBufferBytes = (1 + 128) * kPage;
    int ncpus = libbpf_num_possible_cpus();
    for (int cpu = 0; cpu < ncpus; cpu++) {
      perf_event_attr attr{};
      attr.type = PERF_TYPE_SOFTWARE;
      attr.size = sizeof(attr);
      attr.config = PERF_COUNT_SW_PAGE_FAULTS;
      attr.sample_period = 1;
      attr.sample_type = PERF_SAMPLE_IP | PERF_SAMPLE_TID | PERF_SAMPLE_TIME | PERF_SAMPLE_ADDR;
      attr.inherit = 1;
      attr.sample_id_all = 1;
      int fd = static_cast<int>(syscall(__NR_perf_event_open, &attr, target_, cpu, -1, PERF_FLAG_FD_CLOEXEC));
      if (fd < 0 && errno == ENODEV) continue;  // an offline CPU
      if (fd < 0) return false;
      void* buffer = mmap(nullptr, kBufferBytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
      buffers_.push_back({fd, buffer == MAP_FAILED ? nullptr : buffer, kBufferBytes});
      if (buffer == MAP_FAILED) return false;
    }
    return true;
  }
  void detach() override {
    for (const auto& b : buffers_) {
      if (b.data) munmap(b.data, b.bytes);
      close(b.fd);
    }
    buffers_.clear();
  }

 private:
  struct Buffer {
    int fd;
    void* data;
    size_t bytes;
  };
  pid_t target_;
  std::vector<Buffer> buffers_;
};

// hook_floor.bpf.c's programs: one on the fault-entry tracepoint, and with
// a completion program on the target's page-fault events. least_completion
// writes records. With entry_event, the entry program goes on the target's
// page-faults event instead (sent at the start of do_user_addr_fault; the
// error code is in its registers' orig_ax).
class FloorHooks : public Hooks {
 public:
  bool load(const std::string& entry, const std::string& completion, pid_t target, bool entry_event = false) {
    target_ = target;
    entry_event_ = entry_event;
    skel_.reset(hook_floor_bpf__open());
    if (!skel_) return false;
    skel_->rodata->target_tgid = static_cast<__u32>(target);
    bpf_program* p;
    bpf_object__for_each_program(p, skel_->obj) {
      std::string name = bpf_program__name(p);
      bpf_program__set_autoload(p, name == entry || name == completion);
      if (name == entry) entry_ = p;
      if (name == completion) completion_ = p;
    }
    bool records = completion_ == skel_->progs.least_completion;
    bpf_map__set_autocreate(skel_->maps.works, false);
    bpf_map__set_autocreate(skel_->maps.least_ring, records);
    if (!entry_ || (!completion.empty() && !completion_) || hook_floor_bpf__load(skel_.get())) return false;
    return !records || drain_.start(bpf_map__fd(skel_->maps.least_ring));
  }
  bool attach() override {
    return attach_entry() && (!completion_ || keep_fault_events(completion_, completion_, target_));
  }
  uint64_t lost() const override { return skel_->bss->least_lost; }

 private:
  struct Deleter {
    void operator()(hook_floor_bpf* s) const { hook_floor_bpf__destroy(s); }
  };
  std::unique_ptr<hook_floor_bpf, Deleter> skel_;
  bpf_program* entry_ = nullptr;
  bpf_program* completion_ = nullptr;
  RingDrain drain_;  // after skel_: stops before the ring's map goes
  pid_t target_ = 0;
  bool entry_event_ = false;

  bool attach_entry() {
    if (!entry_event_) return keep(bpf_program__attach(entry_));
    int fd = open_task_event(PERF_COUNT_SW_PAGE_FAULTS, target_, true);
    if (fd < 0) return false;
    bpf_link* link = bpf_program__attach_perf_event(entry_, fd);
    if (!link) close(fd);
    return keep(link);  // the link owns the event's fd
  }
};

class VmatraceHooks : public Hooks {
 public:
  bool load(pid_t target, bool fault_entry) {
    target_ = target;
    fault_entry_ = fault_entry;
    skel_.reset(vmatrace_bpf__open());
    if (!skel_) return false;
    bpf_program* p;
    bpf_object__for_each_program(p, skel_->obj) bpf_program__set_autoload(p, false);
    for (bpf_program* mine :
         {skel_->progs.on_pf_user, skel_->progs.on_pf_kernel, skel_->progs.on_fault_min, skel_->progs.on_fault_maj})
      bpf_program__set_autoload(mine, true);
    // A recording's ring, marks and target, as BpfSession sets them.
    if (!vmatrace::size_ring_buffer(skel_.get(), vmatrace::SessionOptions{}.ringbuf_bytes) ||
        vmatrace_bpf__load(skel_.get()) || !vmatrace::mark_target(skel_.get(), target, VT_TARGET_TRACED))
      return false;
    return drain_.start(bpf_map__fd(skel_->maps.events));
  }
  bool attach() override {
    bool entry_ok = !fault_entry_ || (keep(bpf_program__attach(skel_->progs.on_pf_user)) &&
                                      keep(bpf_program__attach(skel_->progs.on_pf_kernel)));
    return entry_ok && keep_fault_events(skel_->progs.on_fault_min, skel_->progs.on_fault_maj, target_);
  }
  uint64_t lost() const override { return vmatrace::read_lost_counts(skel_.get()).total(); }

 private:
  struct Deleter {
    void operator()(vmatrace_bpf* s) const { vmatrace_bpf__destroy(s); }
  };
  std::unique_ptr<vmatrace_bpf, Deleter> skel_;
  RingDrain drain_;  // after skel_: stops before the ring's map goes
  pid_t target_ = 0;
  bool fault_entry_ = true;
};

// What vmatrace watch --latency adds (user/watch/watch_probe.cpp): the
// fault-entry tracepoints and every CPU's page-fault events, for every process.
class WatchLatencyHooks : public Hooks {
 public:
  bool load() {
    skel_.reset(watch_bpf__open());
    if (!skel_) return false;
    bpf_program__set_autoload(skel_->progs.on_process_free, false);
    return !watch_bpf__load(skel_.get());
  }
  bool attach() override {
    return keep(bpf_program__attach(skel_->progs.watch_pf_user)) &&
           keep(bpf_program__attach(skel_->progs.watch_pf_kernel)) &&
           static_cast<bool>(vmatrace::attach_fault_perf_events(skel_->progs.watch_fault_min,
                                                                skel_->progs.watch_fault_maj,
                                                                [this](bpf_link* l) { keep(l); }));
  }

 private:
  struct Deleter {
    void operator()(watch_bpf* s) const { watch_bpf__destroy(s); }
  };
  std::unique_ptr<watch_bpf, Deleter> skel_;
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
    prctl(PR_SET_PDEATHSIG, SIGKILL);  // not left behind if this tool is killed
    if (getppid() == 1) _exit(0);
    for (;;) pause();
  }
  return pid;
}

std::unique_ptr<Hooks> load_hooks(const std::string& name, pid_t target) {
  if (name == "none") return std::make_unique<NoHooks>();
  if (name == "perf_record") return std::make_unique<PerfRecordEvents>(target);
  if (name == "perf_count" || name == "perf_count_entry")
    return std::make_unique<PerfCounters>(target, name == "perf_count_entry");
  if (name == "empty" || name == "tgid_test" || name == "counting" || name == "counting_event_entry" ||
      name == "least_recording") {
    auto h = std::make_unique<FloorHooks>();
    bool ok = name == "counting"               ? h->load("tgid_test", "count_completion", target)
              : name == "counting_event_entry" ? h->load("count_completion", "count_completion", target, true)
              : name == "least_recording"      ? h->load("least_entry", "least_completion", target)
                                               : h->load(name, "", target);
    return ok ? std::move(h) : nullptr;
  }
  if (name == "vmatrace" || name == "vmatrace_no_entry") {
    auto h = std::make_unique<VmatraceHooks>();
    return h->load(target, name == "vmatrace") ? std::move(h) : nullptr;
  }
  if (name == "watch_latency") {
    auto h = std::make_unique<WatchLatencyHooks>();
    return h->load() ? std::move(h) : nullptr;
  }
  return nullptr;
}

struct Windows {
  std::vector<double> detached, attached, ratios;
};

// PAIRS pairs of windows; false if an attach or a window failed.
bool measure(Hooks* hooks, int pairs, size_t mib, Windows* w) {
  std::mt19937 order(std::random_device{}());
  for (int i = 0; i < pairs; i++) {
    double ns[2];
    bool attached_first = order() & 1;
    for (int k = 0; k < 2; k++) {
      bool on = (k == 0) == attached_first;
      bool ok = !on || hooks->attach();
      ns[on] = ok ? window_ns_per_fault(mib << 20) : -1;
      hooks->detach();
      if (ns[on] <= 0) return false;
    }
    w->detached.push_back(ns[0]);
    w->attached.push_back(ns[1]);
    w->ratios.push_back(ns[1] / ns[0]);
  }
  return true;
}

int run(const std::string& name, const char* label, bool self, int pairs, size_t mib) {
  pid_t sleeper = self ? 0 : start_sleeper();
  if (sleeper < 0) return std::perror("fork"), 1;
  auto stop_sleeper = [&] {
    if (sleeper > 0) kill(sleeper, SIGKILL), waitpid(sleeper, nullptr, 0);
  };
  std::unique_ptr<Hooks> hooks = load_hooks(name, self ? getpid() : sleeper);
  if (!hooks) {
    std::fprintf(stderr, "fault_windows: cannot load %s: %s\n", name.c_str(), std::strerror(errno));
    stop_sleeper();
    return 1;
  }
  Windows w;
  bool ok = measure(hooks.get(), pairs, mib, &w);
  stop_sleeper();
  if (!ok) {
    std::fprintf(stderr, "fault_windows: %s: a window failed: %s\n", name.c_str(), std::strerror(errno));
    return 1;
  }
  if (uint64_t lost = hooks->lost()) {
    std::fprintf(stderr, "fault_windows: %s: %llu records lost\n", name.c_str(), static_cast<unsigned long long>(lost));
    return 1;
  }
  double d = median(w.detached), a = median(w.attached);
  auto [lo, hi] = median_interval(w.ratios);
  std::printf("| %-42s | %5d | %8.1f | %8.1f | %+6.1f | %6.3fx | %6.3fx | %.3f-%.3f |\n", label, pairs, d, a, a - d,
              a / d, median(w.ratios), lo, hi);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::pair<const char*, const char*> kinds[] = {
      {"none", "nothing (the method's own noise)"},
      {"perf_count", "perf stat -p's events (counting)"},
      {"perf_count_entry", "the same and the page-faults event"},
      {"perf_record", "perf record -e page-faults -c 1 -d -p"},
      {"empty", "an empty program on the fault-entry hook"},
      {"tgid_test", "a tgid test on the fault-entry hook"},
      {"counting", "counting on vmatrace's fault hooks"},
      {"counting_event_entry", "counting, entry on the page-faults event"},
      {"least_recording", "least recording on vmatrace's fault hooks"},
      {"vmatrace", "vmatrace's fault programs"},
      {"vmatrace_no_entry", "vmatrace --without fault_tracepoints"},
      {"watch_latency", "vmatrace watch --latency's programs"},
  };
  bool self = argc >= 2 && !std::strcmp(argv[1], "--self");
  int first = self ? 2 : 1;
  const auto* kind = argc > first ? std::find_if(std::begin(kinds), std::end(kinds),
                                                 [&](const auto& k) { return !std::strcmp(argv[first], k.first); })
                                  : std::end(kinds);
  int pairs = argc > first + 1 ? std::atoi(argv[first + 1]) : 200;
  long mib = argc > first + 2 ? std::atol(argv[first + 2]) : 4;
  if (kind == std::end(kinds) || argc > first + 3 || pairs < 1 || mib < 1) {
    std::fprintf(stderr,
                 "usage: fault_windows [--self] "
                 "{none|perf_count|perf_count_entry|perf_record|empty|tgid_test|counting|"
                 "counting_event_entry|least_recording|vmatrace|"
                 "vmatrace_no_entry|watch_latency} [PAIRS [MIB]]\n");
    return 2;
  }
  libbpf_set_print([](libbpf_print_level level, const char* fmt, va_list args) {
    return level == LIBBPF_WARN ? std::vfprintf(stderr, fmt, args) : 0;
  });
  return run(kind->first, kind->second, self, pairs, static_cast<size_t>(mib));
}
