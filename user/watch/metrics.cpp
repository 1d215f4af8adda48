#include "watch/metrics.h"

#include <dirent.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <fstream>
#include <prometheus/counter.h>
#include <prometheus/exposer.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

namespace vmatrace {
namespace {

using prometheus::BuildCounter;
using prometheus::BuildGauge;

double now_s(clockid_t id) {
  timespec ts;
  clock_gettime(id, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

size_t open_fds() {
  size_t n = 0;
  if (DIR* d = opendir("/proc/self/fd")) {
    while (dirent* e = readdir(d)) n += e->d_name[0] != '.';
    closedir(d);
    n--;  // the directory's own fd
  }
  return n;
}

}  // namespace

Result<std::unique_ptr<WatchMetrics>> WatchMetrics::serve(const std::string& listen) {
  std::unique_ptr<WatchMetrics> m(new WatchMetrics());
  try {
    m->exposer_ = std::make_unique<prometheus::Exposer>(listen, 2);
  } catch (const std::exception& e) {
    return make_error("cannot listen on " + listen + ": " + e.what());
  }
  m->registry_ = std::make_shared<prometheus::Registry>();
  auto& r = *m->registry_;
  m->faults_ = &BuildCounter()
                    .Name("vmatrace_page_faults_total")
                    .Help("Page faults the kernel counted (min_flt/maj_flt), by command name and cgroup")
                    .Register(r);
  m->storms_ = &BuildCounter()
                    .Name("vmatrace_fault_storms_total")
                    .Help("Fault storms seen (the rule of vmatrace report), by command name and cgroup")
                    .Register(r);
  m->captures_ = &BuildCounter().Name("vmatrace_captures_total").Help("Storm captures started").Register(r).Add({});
  m->captures_failed_ = &BuildCounter()
                             .Name("vmatrace_captures_failed_total")
                             .Help("Storm captures that ended with an error (their trace may be cut short)")
                             .Register(r)
                             .Add({});
  m->skipped_ = &BuildCounter()
                     .Name("vmatrace_captures_skipped_total")
                     .Help("Storms not captured: cooldown, busy (a capture already running), disk_full")
                     .Register(r);
  for (const char* reason : {"cooldown", "busy", "disk_full"}) m->skipped_->Add({{"reason", reason}});
  m->lost_ = &BuildCounter()
                  .Name("vmatrace_events_lost_total")
                  .Help("Exit records lost: ringbuf (BPF ring buffer full), exit_missed (a process gone "
                        "without one; its faults since the last poll are not counted)")
                  .Register(r);
  for (const char* reason : {"ringbuf", "exit_missed"}) m->lost_->Add({{"reason", reason}});
  m->processes_ = &BuildGauge().Name("vmatrace_watched_processes").Help("Processes watched now").Register(r).Add({});
  m->armed_ = &BuildGauge()
                  .Name("vmatrace_capture_recorders_armed")
                  .Help("Flight recorders armed now, for processes above the warning level (--capture-before)")
                  .Register(r)
                  .Add({});
  m->cpu_ = &BuildCounter()
                 .Name("process_cpu_seconds_total")
                 .Help("User and system CPU time the watch spent, in seconds")
                 .Register(r)
                 .Add({});
  m->rss_ = &BuildGauge().Name("process_resident_memory_bytes").Help("Resident memory of the watch").Register(r).Add({});
  m->vsize_ = &BuildGauge().Name("process_virtual_memory_bytes").Help("Virtual memory of the watch").Register(r).Add({});
  m->fds_ = &BuildGauge().Name("process_open_fds").Help("Open file descriptors of the watch").Register(r).Add({});
  BuildGauge()
      .Name("process_start_time_seconds")
      .Help("Start time of the watch since the Unix epoch, in seconds")
      .Register(r)
      .Add({})
      .Set(now_s(CLOCK_REALTIME));
  m->exposer_->RegisterCollectable(m->registry_);
  m->update_self();
  return m;
}

WatchMetrics::~WatchMetrics() = default;

int WatchMetrics::port() const {
  auto ports = exposer_->GetListeningPorts();
  return ports.empty() ? 0 : ports[0];
}

void WatchMetrics::add_faults(const SeriesKey& key, uint64_t minor, uint64_t major) {
  if (minor) faults_->Add({{"comm", key.comm}, {"cgroup", key.cgroup}, {"type", "minor"}}).Increment(static_cast<double>(minor));
  if (major) faults_->Add({{"comm", key.comm}, {"cgroup", key.cgroup}, {"type", "major"}}).Increment(static_cast<double>(major));
}

void WatchMetrics::remove_series(const SeriesKey& key) {
  for (const char* type : {"minor", "major"}) {
    prometheus::Labels labels{{"comm", key.comm}, {"cgroup", key.cgroup}, {"type", type}};
    if (faults_->Has(labels)) faults_->Remove(&faults_->Add(labels));
  }
  prometheus::Labels labels{{"comm", key.comm}, {"cgroup", key.cgroup}};
  if (storms_->Has(labels)) storms_->Remove(&storms_->Add(labels));
}

void WatchMetrics::add_storm(const SeriesKey& key) { storms_->Add({{"comm", key.comm}, {"cgroup", key.cgroup}}).Increment(); }
void WatchMetrics::add_capture() { captures_->Increment(); }
void WatchMetrics::add_capture_failed() { captures_failed_->Increment(); }
void WatchMetrics::add_capture_skipped(const std::string& reason) { skipped_->Add({{"reason", reason}}).Increment(); }

void WatchMetrics::set_lost(const std::string& reason, uint64_t total) {
  auto& c = lost_->Add({{"reason", reason}});
  double now = static_cast<double>(total);
  if (now > c.Value()) c.Increment(now - c.Value());
}

void WatchMetrics::serve_too(std::shared_ptr<prometheus::Collectable> c) {
  collectables_.push_back(c);
  exposer_->RegisterCollectable(c);
}

void WatchMetrics::set_processes(size_t n) { processes_->Set(static_cast<double>(n)); }
void WatchMetrics::set_armed(size_t n) { armed_->Set(static_cast<double>(n)); }

void WatchMetrics::update_self() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  double cpu = static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
               static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
  if (cpu > cpu_seen_) cpu_->Increment(cpu - cpu_seen_), cpu_seen_ = cpu;
  std::ifstream statm("/proc/self/statm");
  double pages_total = 0, pages_rss = 0;
  statm >> pages_total >> pages_rss;
  double page = static_cast<double>(sysconf(_SC_PAGESIZE));
  rss_->Set(pages_rss * page);
  vsize_->Set(pages_total * page);
  fds_->Set(static_cast<double>(open_fds()));
}

}  // namespace vmatrace
