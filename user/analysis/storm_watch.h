// The live storm detector --trigger storm listens to and the live view shows:
// the report's storm rule (analysis/storms.h: find_storms) over the last
// kHistoryBins of complete faults per kFaultBinNs, kept as the events go by.
// Bounded: a minute of bins, whatever the recording's length.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>

#include "analysis/analysis.h"
#include "events/event.h"
#include "record/trace_output.h"

namespace vmatrace {

class StormWatch : public StormSignal {
 public:
  static constexpr size_t kHistoryBins = 6000;  // 60 s: the baseline's window

  void add(const Event& e) override;
  // The quiet bins up to now count too: a storm ends when the faults stop.
  void advance(uint64_t now);
  // The latest storm of the last minute up to now, if any: a caller polling
  // less often than storms last still sees each one.
  std::optional<Span> latest_storm(uint64_t now) override;
  // The same storm with its rates and its count of faults, up to the last
  // advance(); times CLOCK_MONOTONIC.
  std::optional<Storm> latest() const;

 private:
  std::deque<uint32_t> bins_;
  uint64_t first_bin_ = 0;  // absolute number of bins_.front()
};

}  // namespace vmatrace
