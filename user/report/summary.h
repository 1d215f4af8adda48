// The numbers behind `vmatrace report`: events by kind, fault mix and
// latency, what was lost. Fed one event at a time, live or from a file;
// output/ writes them.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "events/event.h"
#include "pipeline/sink.h"
#include "record/trace_file.h"
#include "util/latency_histogram.h"

namespace vmatrace {

// Completed faults by kind; incomplete ones (never handled) apart.
struct FaultMix {
  uint64_t minor = 0, major = 0, read = 0, write = 0, exec = 0, unknown_access = 0;
  uint64_t in_kernel = 0, incomplete = 0, protection = 0;
  uint64_t total() const { return minor + major; }
};

class Summary final : public Sink {
 public:
  void add(const Event& e);
  void on_event(const Event& e) override { add(e); }
  void set_lost(const LostCounts& lost) { lost_ = lost; }

  uint64_t first_ts() const { return first_ts_; }
  uint64_t last_ts() const { return last_ts_; }
  uint64_t total_events() const { return total_; }
  uint64_t faults() const { return mix_.total(); }
  const FaultMix& fault_mix() const { return mix_; }
  // From the trace's start (its header's clock) to its last event.
  uint64_t duration_ns(const TraceMeta& meta) const;
  std::map<std::string, uint64_t> by_kind() const;
  const LostCounts& lost() const { return lost_; }
  LatencyPercentiles latency() const;

 private:
  uint64_t first_ts_ = 0, last_ts_ = 0, total_ = 0;
  // Counted by kind_slot(): syscalls by number, other kinds after them.
  std::array<uint64_t, 32> by_slot_{};
  FaultMix mix_;
  LatencyHistogram latency_;
  LostCounts lost_;
};

}  // namespace vmatrace
