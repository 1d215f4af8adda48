// Latency percentiles, shared by the summary and the per-VMA report.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

namespace vmatrace {

struct LatencyPercentiles {
  uint64_t p50 = 0, p90 = 0, p99 = 0, max = 0;
  uint64_t samples = 0;
};

// Reorders v (nearest-rank percentiles by selection: linear, not a sort).
inline LatencyPercentiles percentiles(std::vector<uint32_t>* v) {
  LatencyPercentiles p;
  if (v->empty()) return p;
  // Each selection leaves the larger values after it: the next, higher
  // percentile is selected among those only.
  auto from = v->begin();
  auto at = [&](double q) {
    auto nth = v->begin() + static_cast<long>(q * static_cast<double>(v->size() - 1) + 0.5);
    std::nth_element(from, nth, v->end());
    from = nth;
    return static_cast<uint64_t>(*nth);
  };
  p.p50 = at(0.50);
  p.p90 = at(0.90);
  p.p99 = at(0.99);
  p.max = *std::max_element(from, v->end());
  p.samples = v->size();
  return p;
}

}  // namespace vmatrace
