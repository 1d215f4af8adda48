// vmatrace_page_fault_latency_seconds (watch --latency): the BPF histograms,
// read when Prometheus scrapes, from the exposer's thread.
#pragma once

#include <array>
#include <memory>
#include <vector>

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include "vmatrace/watch_events.h"

namespace vmatrace {

using LatencyTotals = std::array<vt_watch_latency, VT_WATCH_FAULT_TYPES>;

// The machine's histogram by type="minor|major" (buckets in seconds, powers
// of two of nanoseconds from 256 ns), and vmatrace_page_faults_untimed_total
// for the faults whose start the programs did not see.
std::vector<prometheus::MetricFamily> latency_families(const LatencyTotals& totals);

// Adds up the per-CPU values of one fault type's histogram.
vt_watch_latency sum_cpus(const std::vector<vt_watch_latency>& per_cpu);

class LatencyCollector : public prometheus::Collectable {
 public:
  // Keeps its own descriptor of the map: it outlives the watch's BPF object
  // should a scrape race the shutdown.
  static std::shared_ptr<LatencyCollector> open(int map_fd);
  ~LatencyCollector() override;
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  explicit LatencyCollector(int fd) : fd_(fd) {}
  int fd_;
};

}  // namespace vmatrace
