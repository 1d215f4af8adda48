// When one process's fault rate starts a storm, by the rule `report` uses
// (analysis/storms.h: find_storms) applied to the process's recent history
// of faults per polling interval instead of a trace's 10 ms bins.
#pragma once

#include <cstdint>
#include <deque>

#include "analysis/analysis.h"

namespace vmatrace {

class StormTrigger {
 public:
  static constexpr size_t kHistory = 120;  // bins kept: the baseline's window

  // Adds the faults of the interval just ended; true when they start a new
  // storm (a storm that only dipped, by the rule's merge gap, is the same
  // storm), with its rate in faults/s.
  bool add(uint64_t faults, uint64_t bin_ns, const AnalysisOptions& rule, double* rate);
  // Whether the bin added last is above the warning level: `fraction` (0..1]
  // of the rule's threshold, floor rate and fault count, and at least twice
  // the baseline (a process that always faults at one rate is never warm).
  bool warm(uint64_t bin_ns, const AnalysisOptions& rule, double fraction) const;

 private:
  std::deque<uint32_t> bins_;
  uint64_t bins_seen_ = 0;        // bins ever added: absolute bin numbers
  uint64_t last_storm_bin_ = 0;   // absolute number + 1 of the last bin seen in a storm (0: none)
};

}  // namespace vmatrace
