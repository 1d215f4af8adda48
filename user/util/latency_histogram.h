// Latency percentiles in fixed memory: a log-linear histogram (HDR-style).
//
// Values below 256 ns are counted exactly; above, each power of two is cut
// into 128 buckets, so a bucket is at most 1/128 of its lower bound wide and
// the value reported for it (its middle) is within 0.4% of any value in it.
// Count, min and max are exact. Few values are kept as a sorted list of the
// buckets in use, 4 bytes each: a model keeps one histogram per VMA
// lifetime (tens of thousands), most with a few faults spread over hundreds
// of buckets. Once the list holds 64 buckets and half of those between the
// smallest and the largest, or a count outgrows it, the counts of every
// bucket between them are kept instead (at most 3,456, 27 KiB).
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

namespace vmatrace {

struct LatencyPercentiles {
  uint64_t p50 = 0, p90 = 0, p99 = 0, max = 0;
  uint64_t samples = 0;
};

class LatencyHistogram {
 public:
  void add(uint32_t v);
  void merge(const LatencyHistogram& other);

  uint64_t count() const { return count_; }
  uint32_t min() const { return count_ ? min_ : 0; }
  uint32_t max() const { return max_; }
  // The value of rank r (0-based) in sorted order, within 0.4%; the first
  // and last ranks exactly.
  uint32_t value_at_rank(uint64_t r) const;
  // Nearest-rank p50, p90, p99 (rank q·(n−1) rounded), max and count.
  LatencyPercentiles percentiles() const;

  static uint32_t bucket_of(uint32_t v);
  // The smallest value in bucket b and how many values it holds.
  static uint64_t bucket_low(uint32_t b);
  static uint64_t bucket_width(uint32_t b);

 private:
  static constexpr uint32_t kListCountBits = 20;  // 12 bits are enough for a bucket
  static constexpr uint32_t kListCountMax = (1u << kListCountBits) - 1;
  static constexpr size_t kListAtLeast = 64;  // buckets listed before the counts may be used
  void add_to_bucket(uint32_t bucket, uint64_t n);
  void cover(uint32_t bucket);
  void to_counts();

  std::vector<uint32_t> list_;    // bucket << kListCountBits | count, by bucket (until counts_ is used)
  uint32_t first_ = 0;            // the bucket counts_[0] counts
  std::vector<uint64_t> counts_;  // buckets first_ .. first_ + size - 1
  uint64_t count_ = 0;
  uint32_t min_ = std::numeric_limits<uint32_t>::max(), max_ = 0;
};

}  // namespace vmatrace
