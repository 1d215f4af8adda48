#include "model/range_stamps.h"

#include <algorithm>
#include <iterator>

namespace vmatrace {
namespace {

// A snapshot that reaches the ring this long after a newer one of its range is
// not expected (its walk and its send are one BPF program run); stamps older
// than that go once there are many.
constexpr uint64_t kForgetAfterNs = 2'000'000'000;

}  // namespace

std::vector<RangeStamps::Range> RangeStamps::not_newer_than(uint64_t first, uint64_t last, uint64_t ts) const {
  std::vector<Range> parts;
  uint64_t from = first;  // the next byte not yet decided
  bool open = true;       // from <= last
  auto it = stamps_.upper_bound(first);
  if (it != stamps_.begin() && std::prev(it)->second.last >= first) it = std::prev(it);
  for (; open && it != stamps_.end() && it->first <= last; ++it) {
    if (it->second.ts <= ts) continue;
    // A newer stamp covers [max(it->first, from), it->second.last].
    if (it->first > from) parts.push_back({from, it->first - 1});
    if (it->second.last >= last) {
      open = false;
    } else {
      from = std::max(from, it->second.last + 1);
    }
  }
  if (open) parts.push_back({from, last});
  return parts;
}

void RangeStamps::stamp(uint64_t first, uint64_t last, uint64_t ts) {
  // Cut the stamps that reach past either end, then drop those inside.
  auto it = stamps_.upper_bound(first);
  if (it != stamps_.begin()) {
    auto prev = std::prev(it);
    if (prev->second.last >= first) {
      Stamp whole = prev->second;
      if (prev->first < first) {
        prev->second.last = first - 1;
      } else {
        stamps_.erase(prev);
      }
      if (whole.last > last) stamps_[last + 1] = {whole.last, whole.ts};
    }
  }
  it = stamps_.lower_bound(first);
  while (it != stamps_.end() && it->first <= last) {
    Stamp s = it->second;
    it = stamps_.erase(it);
    if (s.last > last) {
      stamps_[last + 1] = s;
      break;
    }
  }
  stamps_[first] = {last, ts};
  if (ts > newest_) newest_ = ts;
  if (stamps_.size() > forget_at_) {
    forget_old();
    // Twice what is left: one pass over the stamps per as many new ones,
    // however many VMAs the process has (a stamp per VMA is normal).
    forget_at_ = std::max(kManyStamps, 2 * stamps_.size());
  }
}

void RangeStamps::forget_old() {
  if (newest_ < kForgetAfterNs) return;
  for (auto it = stamps_.begin(); it != stamps_.end();)
    it = it->second.ts < newest_ - kForgetAfterNs ? stamps_.erase(it) : std::next(it);
}

}  // namespace vmatrace
