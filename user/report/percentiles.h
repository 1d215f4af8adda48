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

// A value's bucket in a log-linear histogram: exact below 256, then 256
// buckets per power of two. Monotonic: a smaller value never lands higher.
inline uint32_t latency_bucket(uint32_t v) {
  if (v < 256) return v;
  uint32_t e = 31 - static_cast<uint32_t>(__builtin_clz(v));  // 8..31
  return ((e - 7) << 8) | ((v >> (e - 8)) & 0xff);
}

// Nearest-rank percentiles, exact. One pass counts the values into buckets;
// a second takes the values of the few buckets holding the ranks wanted and
// selects within those only (a selection over all of them moved every value
// three times).
inline LatencyPercentiles percentiles(const std::vector<uint32_t>& v) {
  LatencyPercentiles p;
  if (v.empty()) return p;
  constexpr size_t kBuckets = 25 << 8;
  std::vector<uint64_t> count(kBuckets, 0);
  uint32_t max = 0;
  for (uint32_t x : v) {
    count[latency_bucket(x)]++;
    max = std::max(max, x);
  }
  const double qs[3] = {0.50, 0.90, 0.99};
  uint64_t rank[3], bucket[3], before[3];  // rank within the whole, its bucket, values below that bucket
  for (int i = 0; i < 3; i++) rank[i] = static_cast<uint64_t>(qs[i] * static_cast<double>(v.size() - 1) + 0.5);
  uint64_t seen = 0;
  int next = 0;
  for (size_t b = 0; b < kBuckets && next < 3; b++) {
    while (next < 3 && rank[next] < seen + count[b]) {
      bucket[next] = b;
      before[next] = seen;
      next++;
    }
    seen += count[b];
  }
  std::vector<uint32_t> in[3];
  for (uint32_t x : v) {
    uint32_t b = latency_bucket(x);
    for (int i = 0; i < 3; i++)
      if (b == bucket[i]) {
        in[i].push_back(x);
        break;  // percentiles sharing a bucket share its values
      }
  }
  uint64_t out[3];
  for (int i = 0; i < 3; i++) {
    int owner = i;
    while (owner > 0 && bucket[owner - 1] == bucket[i]) owner--;
    std::vector<uint32_t>& values = in[owner];
    auto nth = values.begin() + static_cast<long>(rank[i] - before[i]);
    std::nth_element(values.begin(), nth, values.end());
    out[i] = *nth;
  }
  p.p50 = out[0];
  p.p90 = out[1];
  p.p99 = out[2];
  p.max = max;
  p.samples = v.size();
  return p;
}

}  // namespace vmatrace
