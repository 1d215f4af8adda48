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

// Sorts v in place (nearest-rank percentiles).
inline LatencyPercentiles percentiles(std::vector<uint32_t>* v) {
  LatencyPercentiles p;
  if (v->empty()) return p;
  std::sort(v->begin(), v->end());
  auto at = [&](double q) {
    size_t i = static_cast<size_t>(q * static_cast<double>(v->size() - 1) + 0.5);
    return static_cast<uint64_t>((*v)[i]);
  };
  p.p50 = at(0.50);
  p.p90 = at(0.90);
  p.p99 = at(0.99);
  p.max = v->back();
  p.samples = v->size();
  return p;
}

}  // namespace vmatrace
