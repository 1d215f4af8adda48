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

namespace {

AnalysisOptions warning_rule(const AnalysisOptions& rule, double fraction) {
  AnalysisOptions warn = rule;
  // The rule's own edge (find_storms' hysteresis) is twice the baseline: a
  // warning never asks for less, nor for more than the storm itself.
  warn.storm_threshold = std::min(rule.storm_threshold, std::max(rule.storm_threshold * fraction, 2.0));
  warn.storm_min_rate = rule.storm_min_rate * fraction;
  warn.storm_min_faults =
      std::max<uint64_t>(1, static_cast<uint64_t>(static_cast<double>(rule.storm_min_faults) * fraction));
  return warn;
}

}  // namespace

bool StormTrigger::warm(uint64_t bin_ns, const AnalysisOptions& rule, double fraction) const {
  if (bins_.empty() || fraction <= 0) return false;
  const AnalysisOptions warn = warning_rule(rule, fraction);
  if (bins_.back() * (1e9 / static_cast<double>(bin_ns)) <= warn.storm_min_rate) return false;
  std::vector<uint32_t> history(bins_.begin(), bins_.end());
  double baseline = 0;
  auto spells = find_storms(history, bin_ns, warn, &baseline);
  return !spells.empty() && spells.back().end_ns == history.size() * bin_ns;
}

}  // namespace vmatrace
