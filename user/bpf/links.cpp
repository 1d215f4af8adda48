#include "bpf/links.h"

#include <bpf/libbpf.h>
#include <linux/perf_event.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <system_error>
#include <thread>

#include "bpf/libbpf_log.h"

namespace vmatrace {
namespace {

int open_fault_event(unsigned long long config, pid_t pid, int cpu) {
  perf_event_attr attr{};
  attr.type = PERF_TYPE_SOFTWARE;
  attr.size = sizeof(attr);
  attr.config = config;
  attr.sample_period = 1;
  attr.sample_type = PERF_SAMPLE_ADDR;
  // Not exclude_kernel: faults taken inside syscalls (copy_to_user) arrive
  // with kernel-mode regs and count in getrusage like any other.
  attr.inherit = pid >= 0;
  return static_cast<int>(syscall(__NR_perf_event_open, &attr, pid, cpu, -1, PERF_FLAG_FD_CLOEXEC));
}

struct FaultKind {
  unsigned long long config;
  bpf_program* prog;
};

Status attach_fault_event(const FaultKind& k, int fd, const std::function<void(bpf_link*)>& keep) {
  bpf_link* link = bpf_program__attach_perf_event(k.prog, fd);
  if (!link) {
    int err = errno;
    close(fd);
    return libbpf_error("cannot attach to page-fault perf event", err);
  }
  keep(link);  // the link owns and closes fd
  return Ok{};
}

}  // namespace

void BpfLinkDeleter::operator()(bpf_link* l) const { bpf_link__destroy(l); }
void RingBufferDeleter::operator()(ring_buffer* r) const { ring_buffer__free(r); }

void destroy_links(std::vector<BpfLinkPtr>* links) {
  // Concurrent waiters share grace periods. A few threads are enough: the
  // kernel serialises most of each teardown (a 128-CPU machine has 256
  // fault-event links, no reason for 256 threads). A link whose thread
  // cannot start is destroyed by the loop below, at once.
  constexpr size_t kClosers = 16;
  const size_t n = links->size();
  auto close_every = [links, n](size_t first) {
    for (size_t i = first; i < n; i += kClosers) (*links)[i].reset();
  };
  std::vector<std::thread> closers;
  for (size_t t = 0; t < std::min(kClosers, n); t++) {
    try {
      closers.emplace_back(close_every, t);
    } catch (const std::system_error&) {
      close_every(t);
    }
  }
  for (auto& t : closers) t.join();
  links->clear();
}

Error libbpf_error(const std::string& what, int err) {
  std::string msg = what + ": " + strerror(err < 0 ? -err : err);
  if (!recent_libbpf_warnings().empty()) msg += " (run with -v for libbpf's log)";
  return make_error(msg);
}

Status attach_fault_perf_events(bpf_program* on_min, bpf_program* on_maj,
                                const std::function<void(bpf_link*)>& keep) {
  int ncpus = libbpf_num_possible_cpus();
  if (ncpus <= 0) return libbpf_error("cannot count CPUs", ncpus);
  const FaultKind kinds[] = {{PERF_COUNT_SW_PAGE_FAULTS_MIN, on_min}, {PERF_COUNT_SW_PAGE_FAULTS_MAJ, on_maj}};
  for (int cpu = 0; cpu < ncpus; cpu++) {
    for (const auto& k : kinds) {
      int fd = open_fault_event(k.config, -1, cpu);
      if (fd < 0 && errno == ENODEV) break;  // possible but offline CPU
      if (fd < 0) return make_error(std::string("cannot open page-fault perf event: ") + strerror(errno));
      if (auto st = attach_fault_event(k, fd, keep); !st) return st;
    }
  }
  return Ok{};
}

Status attach_task_fault_perf_events(bpf_program* on_min, bpf_program* on_maj, pid_t tid,
                                     const std::function<void(bpf_link*)>& keep) {
  const FaultKind kinds[] = {{PERF_COUNT_SW_PAGE_FAULTS_MIN, on_min}, {PERF_COUNT_SW_PAGE_FAULTS_MAJ, on_maj}};
  for (const auto& k : kinds) {
    int fd = open_fault_event(k.config, tid, -1);
    if (fd < 0 && errno == ESRCH) return Ok{};
    if (fd < 0) return make_error(std::string("cannot open page-fault perf event: ") + strerror(errno));
    if (auto st = attach_fault_event(k, fd, keep); !st) return st;
  }
  return Ok{};
}

}  // namespace vmatrace
