// The numbers behind `vmatrace report`: events by kind, fault mix and
// latency, what was lost. Fed one event at a time, live or from a file.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "events/event.h"
#include "pipeline/sink.h"
#include "record/trace_file.h"
#include "report/percentiles.h"

namespace vmatrace {

class Summary final : public Sink {
 public:
  void add(const Event& e);
  void on_event(const Event& e) override { add(e); }
  void set_lost(const LostCounts& lost) { lost_ = lost; }

  uint64_t first_ts() const { return first_ts_; }
  uint64_t last_ts() const { return last_ts_; }
  uint64_t total_events() const { return total_; }
  uint64_t faults() const { return minor_ + major_; }
  std::map<std::string, uint64_t> by_kind() const;
  const LostCounts& lost() const { return lost_; }
  LatencyPercentiles latency() const;

  nlohmann::ordered_json to_json(const TraceMeta& meta, const ReadSummary& read) const;
  std::string to_text(const TraceMeta& meta, const ReadSummary& read, const std::string& file) const;

 private:
  uint64_t first_ts_ = 0, last_ts_ = 0, total_ = 0;
  // Counted by kind_slot(): syscalls by number, other kinds after them.
  std::array<uint64_t, 32> by_slot_{};
  uint64_t minor_ = 0, major_ = 0, read_ = 0, write_ = 0, exec_ = 0, unknown_access_ = 0;
  uint64_t in_kernel_ = 0, incomplete_ = 0, protection_ = 0;
  LatencyHistogram latency_;
  LostCounts lost_;
};

}  // namespace vmatrace
