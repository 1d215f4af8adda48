#include "util/latency_histogram.h"

#include <algorithm>

namespace vmatrace {
namespace {

constexpr uint32_t kSubBits = 7;  // 128 buckets per power of two
constexpr uint32_t kSub = 1u << kSubBits;

}  // namespace

uint32_t LatencyHistogram::bucket_of(uint32_t v) {
  if (v < 2 * kSub) return v;
  uint32_t e = 31 - static_cast<uint32_t>(__builtin_clz(v));  // kSubBits+1 .. 31
  return ((e - kSubBits + 1) << kSubBits) | ((v >> (e - kSubBits)) & (kSub - 1));
}

uint64_t LatencyHistogram::bucket_low(uint32_t b) {
  if (b < 2 * kSub) return b;
  uint32_t e = (b >> kSubBits) + kSubBits - 1;
  return static_cast<uint64_t>(kSub | (b & (kSub - 1))) << (e - kSubBits);
}

uint64_t LatencyHistogram::bucket_width(uint32_t b) {
  if (b < 2 * kSub) return 1;
  return uint64_t{1} << ((b >> kSubBits) - 1);
}

// Grows the stored range of buckets to include bucket b.
void LatencyHistogram::cover(uint32_t b) {
  if (counts_.empty()) {
    first_ = b;
    counts_.assign(1, 0);
  } else if (b < first_) {
    counts_.insert(counts_.begin(), first_ - b, 0);
    first_ = b;
  } else if (b >= first_ + counts_.size()) {
    counts_.resize(b - first_ + 1, 0);
  }
}

// From the list to the counts of every bucket between its first and last.
void LatencyHistogram::to_counts() {
  for (uint32_t e : list_) {
    uint32_t b = e >> kListCountBits;
    cover(b);
    counts_[b - first_] += e & kListCountMax;
  }
  std::vector<uint32_t>().swap(list_);
}

void LatencyHistogram::add_to_bucket(uint32_t b, uint64_t n) {
  if (counts_.empty()) {
    const uint32_t key = b << kListCountBits;
    auto it = std::lower_bound(list_.begin(), list_.end(), key);
    const bool there = it != list_.end() && (*it >> kListCountBits) == b;
    if ((there ? *it & kListCountMax : 0) + n <= kListCountMax) {
      if (there) {
        *it += static_cast<uint32_t>(n);
        return;
      }
      list_.insert(it, key | static_cast<uint32_t>(n));
      // The counts cost 8 bytes a bucket of the span, the list 4 a bucket in use.
      const uint32_t span = (list_.back() >> kListCountBits) - (list_.front() >> kListCountBits) + 1;
      if (list_.size() >= kListAtLeast && 2 * list_.size() >= span) to_counts();
      return;
    }
    to_counts();
  }
  if (b < first_ || b >= first_ + counts_.size()) cover(b);
  counts_[b - first_] += n;
}

void LatencyHistogram::add(uint32_t v) {
  uint32_t b = bucket_of(v);
  if (!counts_.empty() && b >= first_ && b < first_ + counts_.size())
    counts_[b - first_]++;
  else
    add_to_bucket(b, 1);
  count_++;
  min_ = std::min(min_, v);
  max_ = std::max(max_, v);
}

void LatencyHistogram::merge(const LatencyHistogram& o) {
  if (!o.count_) return;
  for (uint32_t e : o.list_) add_to_bucket(e >> kListCountBits, e & kListCountMax);
  if (!o.counts_.empty()) {
    if (counts_.empty()) to_counts();
    cover(o.first_);
    cover(o.first_ + static_cast<uint32_t>(o.counts_.size()) - 1);
    for (size_t i = 0; i < o.counts_.size(); i++) counts_[o.first_ - first_ + i] += o.counts_[i];
  }
  count_ += o.count_;
  min_ = std::min(min_, o.min_);
  max_ = std::max(max_, o.max_);
}

uint32_t LatencyHistogram::value_at_rank(uint64_t r) const {
  if (!count_) return 0;
  if (r == 0) return min_;
  if (r + 1 >= count_) return max_;
  auto middle = [&](uint32_t b) {
    uint64_t mid = bucket_low(b) + (bucket_width(b) - 1) / 2;
    return static_cast<uint32_t>(std::clamp<uint64_t>(mid, min_, max_));
  };
  uint64_t seen = 0;
  for (uint32_t e : list_) {
    seen += e & kListCountMax;
    if (r < seen) return middle(e >> kListCountBits);
  }
  for (size_t i = 0; i < counts_.size(); i++) {
    seen += counts_[i];
    if (r < seen) return middle(first_ + static_cast<uint32_t>(i));
  }
  return max_;
}

LatencyPercentiles LatencyHistogram::percentiles() const {
  LatencyPercentiles p;
  if (!count_) return p;
  auto at = [&](double q) {
    return value_at_rank(static_cast<uint64_t>(q * static_cast<double>(count_ - 1) + 0.5));
  };
  p.p50 = at(0.50);
  p.p90 = at(0.90);
  p.p99 = at(0.99);
  p.max = max_;
  p.samples = count_;
  return p;
}

}  // namespace vmatrace
