#include "watch/storm_trigger.h"

#include <algorithm>
#include <limits>
#include <vector>

#include "analysis/storms.h"

namespace vmatrace {

bool StormTrigger::add(uint64_t faults, uint64_t bin_ns, const AnalysisOptions& rule, double* rate) {
  bins_.push_back(static_cast<uint32_t>(std::min<uint64_t>(faults, std::numeric_limits<uint32_t>::max())));
  if (bins_.size() > kHistory) bins_.pop_front();
  bins_seen_++;
  const double per_s = 1e9 / static_cast<double>(bin_ns);
  // Below the rule's floor rate the bin cannot be a storm's core: skip the
  // median (most processes, most of the time).
  if (faults * per_s <= rule.storm_min_rate) return false;
  std::vector<uint32_t> history(bins_.begin(), bins_.end());
  double baseline = 0;
  auto storms = find_storms(history, bin_ns, rule, &baseline);
  if (storms.empty() || storms.back().end_ns != history.size() * bin_ns) return false;
  // In absolute bin numbers: where the storm holding this bin began.
  uint64_t first_abs = bins_seen_ - history.size();
  uint64_t storm_start = first_abs + storms.back().start_ns / bin_ns;
  bool is_new = last_storm_bin_ == 0 || storm_start >= last_storm_bin_;
  last_storm_bin_ = bins_seen_;
  *rate = faults * per_s;
  return is_new;
}

}  // namespace vmatrace
