// Per-second counters for the live view: fault and VMA-change rates, the
// faults of each VMA lifetime and their causes in each of the last seconds,
// and the fault timeline the storm rule reads, to tell a storm under way.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <unordered_map>
#include <vector>

#include "analysis/analysis.h"
#include "analysis/storm_cause.h"
#include "analysis/storm_watch.h"
#include "events/event.h"
#include "model/model.h"

namespace vmatrace {

struct SecondCounts {
  uint64_t minor = 0, major = 0, vma_changes = 0;
  std::unordered_map<uint64_t, uint32_t> by_lifetime;  // faults
  CauseTally causes;
};

class LiveStats {
 public:
  static constexpr size_t kSeconds = 60;

  explicit LiveStats(uint64_t t0_ns) : start_ns_(t0_ns), t0_ns_(t0_ns), classifier_(t0_ns, 0, "") {
    seconds_.emplace_back();
  }
  // After model.apply(e): the model knows which lifetime a fault hit.
  void on_event(const Event& e, const Model& model);
  // Starts new seconds up to now.
  void advance(uint64_t now_ns);

  // The last complete second, and the ones before it (oldest first).
  const SecondCounts& last_second() const;
  const std::deque<SecondCounts>& seconds() const { return seconds_; }
  uint64_t total_faults() const { return total_faults_; }

  // The storm going on now, by the report's rule over the last minute's
  // faults (nothing if the last one ended over 100 ms ago), with the causes
  // of its faults in the last kSeconds. Times relative to the start.
  std::optional<Storm> running_storm() const;

 private:
  std::deque<SecondCounts> seconds_;  // back: the second in progress
  uint64_t start_ns_;                 // of the second in progress
  uint64_t t0_ns_, now_ns_ = 0;
  uint64_t total_faults_ = 0;
  StormWatch timeline_;
  CauseClassifier classifier_;
};

}  // namespace vmatrace
