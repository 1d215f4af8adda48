// Per-second counters for the live view: fault and VMA-change rates, and the
// faults of each VMA lifetime in each of the last seconds.
#pragma once

#include <cstdint>
#include <deque>
#include <unordered_map>

#include "events/event.h"
#include "model/model.h"

namespace vmatrace {

struct SecondCounts {
  uint64_t minor = 0, major = 0, vma_changes = 0;
  std::unordered_map<uint64_t, uint32_t> by_lifetime;  // faults
};

class LiveStats {
 public:
  static constexpr size_t kSeconds = 60;

  explicit LiveStats(uint64_t t0_ns) : start_ns_(t0_ns) { seconds_.emplace_back(); }
  // After model.apply(e): the model knows which lifetime a fault hit.
  void on_event(const Event& e, const Model& model);
  // Starts new seconds up to now.
  void advance(uint64_t now_ns);

  // The last complete second, and the ones before it (oldest first).
  const SecondCounts& last_second() const;
  const std::deque<SecondCounts>& seconds() const { return seconds_; }
  uint64_t total_faults() const { return total_faults_; }

 private:
  std::deque<SecondCounts> seconds_;  // back: the second in progress
  uint64_t start_ns_;
  uint64_t total_faults_ = 0;
};

}  // namespace vmatrace
