#include "watch/latency_metrics.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <unistd.h>

namespace vmatrace {
namespace {

// Bucket i of the BPF side counts (2^(i-1), 2^i] ns. Faster than 256 ns is
// not a page fault; the last shown bound, 2^34 ns, is 17 s.
constexpr int kFirstShown = 8, kLastShown = 34;
static_assert(kLastShown < VT_WATCH_LATENCY_BUCKETS - 1, "the last BPF bucket is unbounded");

const char* type_name(int type) { return type == VT_WATCH_FAULT_MAJOR ? "major" : "minor"; }

prometheus::ClientMetric histogram_of(const vt_watch_latency& h, int type) {
  prometheus::ClientMetric m;
  m.label = {{"type", type_name(type)}};
  uint64_t cumulative = 0, total = 0;
  for (uint64_t n : h.buckets) total += n;
  for (int i = 0; i <= kLastShown; i++) {
    cumulative += h.buckets[i];
    if (i >= kFirstShown) m.histogram.bucket.push_back({cumulative, static_cast<double>(1ULL << i) / 1e9});
  }
  m.histogram.sample_count = total;  // the serializer adds le="+Inf" with it
  m.histogram.sample_sum = static_cast<double>(h.sum_ns) / 1e9;
  return m;
}

}  // namespace

std::vector<prometheus::MetricFamily> latency_families(const LatencyTotals& totals) {
  prometheus::MetricFamily hist{"vmatrace_page_fault_latency_seconds",
                                "Page fault latency on the whole machine (watch --latency): from the fault's "
                                "entry to its accounting, by type",
                                prometheus::MetricType::Histogram,
                                {}};
  prometheus::MetricFamily untimed{"vmatrace_page_faults_untimed_total",
                                   "Faults the latency programs saw end but not begin (begun before the watch "
                                   "started, or their start was lost): not in the histogram",
                                   prometheus::MetricType::Counter,
                                   {}};
  for (int type = 0; type < VT_WATCH_FAULT_TYPES; type++) {
    hist.metric.push_back(histogram_of(totals[type], type));
    prometheus::ClientMetric c;
    c.label = {{"type", type_name(type)}};
    c.counter.value = static_cast<double>(totals[type].unmatched);
    untimed.metric.push_back(c);
  }
  return {hist, untimed};
}

vt_watch_latency sum_cpus(const std::vector<vt_watch_latency>& per_cpu) {
  vt_watch_latency sum{};
  for (const auto& c : per_cpu) {
    for (int i = 0; i < VT_WATCH_LATENCY_BUCKETS; i++) sum.buckets[i] += c.buckets[i];
    sum.sum_ns += c.sum_ns;
    sum.unmatched += c.unmatched;
  }
  return sum;
}

std::shared_ptr<LatencyCollector> LatencyCollector::open(int map_fd) {
  int fd = fcntl(map_fd, F_DUPFD_CLOEXEC, 0);
  if (fd < 0) return nullptr;
  return std::shared_ptr<LatencyCollector>(new LatencyCollector(fd));
}

LatencyCollector::~LatencyCollector() { close(fd_); }

std::vector<prometheus::MetricFamily> LatencyCollector::Collect() const {
  int ncpus = libbpf_num_possible_cpus();
  LatencyTotals totals{};
  std::vector<vt_watch_latency> per_cpu(static_cast<size_t>(ncpus > 0 ? ncpus : 1));
  for (__u32 type = 0; type < VT_WATCH_FAULT_TYPES; type++) {
    // Absent for one scrape rather than zeros: a counter never goes back.
    if (bpf_map_lookup_elem(fd_, &type, per_cpu.data()) != 0) return {};
    totals[type] = sum_cpus(per_cpu);
  }
  return latency_families(totals);
}

}  // namespace vmatrace
