#include "analysis/storm_watch.h"

#include <limits>
#include <vector>

#include "analysis/storms.h"
#include "record/trace_file.h"

namespace vmatrace {

void StormWatch::advance(uint64_t now) {
  const uint64_t bin = now / kFaultBinNs;
  if (bins_.empty() || bin < first_bin_) return;  // the history starts at the first fault
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
  if (bins_.empty()) {
    first_bin_ = bin;
    bins_.push_back(0);
  }
  advance(e.ts);
  if (bin < first_bin_) return;
  uint32_t& n = bins_[bin - first_bin_];
  if (n < std::numeric_limits<uint32_t>::max()) n++;
}

std::optional<Storm> StormWatch::latest() const {
  std::vector<uint32_t> history(bins_.begin(), bins_.end());
  double baseline = 0;
  auto storms = find_storms(history, kFaultBinNs, AnalysisOptions{}, &baseline);
  if (storms.empty()) return std::nullopt;
  Storm s = std::move(storms.back());
  for (uint64_t b = s.start_ns / kFaultBinNs; b < s.end_ns / kFaultBinNs && b < history.size(); b++)
    s.faults += history[b];
  const uint64_t base = first_bin_ * kFaultBinNs;
  s.start_ns += base;
  s.end_ns += base;
  return s;
}

std::optional<StormWatch::Span> StormWatch::latest_storm(uint64_t now) {
  advance(now);
  auto s = latest();
  if (!s) return std::nullopt;
  return Span{s->start_ns, s->end_ns};
}

}  // namespace vmatrace
