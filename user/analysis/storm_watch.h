// The live storm detector --trigger storm listens to: the report's storm rule
// (analysis/storms.h: find_storms) over the last kHistoryBins of complete
// faults per kFaultBinNs, kept as the events go by. Bounded: a minute of
// bins, whatever the recording's length.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>

#include "events/event.h"
#include "record/trace_output.h"

namespace vmatrace {

class StormWatch : public StormSignal {
 public:
  static constexpr size_t kHistoryBins = 6000;  // 60 s: the baseline's window

  void add(const Event& e) override;
  // The latest storm of the last minute up to now, if any: a caller polling
  // less often than storms last still sees each one.
  std::optional<Span> latest_storm(uint64_t now) override;

 private:
  void extend_to(uint64_t bin);
  std::deque<uint32_t> bins_;
  uint64_t first_bin_ = 0;  // absolute number of bins_.front()
};

}  // namespace vmatrace
