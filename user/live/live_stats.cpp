#include "live/live_stats.h"

#include "events/abi.h"

namespace vmatrace {

void LiveStats::on_event(const Event& e, const Model& model) {
  SecondCounts& now = seconds_.back();
  if (e.kind == Kind::Syscall) {
    now.vma_changes++;
    return;
  }
  if (e.kind != Kind::Fault || (e.fault_flags & VT_FAULT_INCOMPLETE)) return;
  total_faults_++;
  (e.fault_flags & VT_FAULT_MAJOR) ? now.major++ : now.minor++;
  if (const auto& at = model.last_fault_vma()) now.by_lifetime[at->lifetime]++;
}

void LiveStats::advance(uint64_t now_ns) {
  while (now_ns >= start_ns_ + 1000000000ULL) {
    start_ns_ += 1000000000ULL;
    seconds_.emplace_back();
    if (seconds_.size() > kSeconds + 1) seconds_.pop_front();
  }
}

const SecondCounts& LiveStats::last_second() const {
  static const SecondCounts kNone;
  return seconds_.size() >= 2 ? seconds_[seconds_.size() - 2] : kNone;
}

}  // namespace vmatrace
