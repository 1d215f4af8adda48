#include "analysis/storm_watch.h"

#include <limits>
#include <vector>

#include "analysis/storms.h"
#include "record/trace_file.h"

namespace vmatrace {

void StormWatch::extend_to(uint64_t bin) {
  if (bins_.empty()) first_bin_ = bin;
  if (bin < first_bin_) return;
  if (bin - first_bin_ >= 2 * kHistoryBins) {  // idle for long: start afresh
    bins_.clear();
    first_bin_ = bin - kHistoryBins + 1;
  }
  while (first_bin_ + bins_.size() <= bin) bins_.push_back(0);
  while (bins_.size() > kHistoryBins) {
    bins_.pop_front();
    first_bin_++;
  }
}

void StormWatch::add(const Event& e) {
  if (!e.complete_fault()) return;
  const uint64_t bin = e.ts / kFaultBinNs;
  extend_to(bin);
  if (bin < first_bin_) return;
  uint32_t& n = bins_[bin - first_bin_];
  if (n < std::numeric_limits<uint32_t>::max()) n++;
}

std::optional<StormWatch::Span> StormWatch::latest_storm(uint64_t now) {
  extend_to(now / kFaultBinNs);
  std::vector<uint32_t> history(bins_.begin(), bins_.end());
  double baseline = 0;
  auto storms = find_storms(history, kFaultBinNs, AnalysisOptions{}, &baseline);
  if (storms.empty()) return std::nullopt;
  const uint64_t base = first_bin_ * kFaultBinNs;
  return Span{base + storms.back().start_ns, base + storms.back().end_ns};
}

}  // namespace vmatrace
