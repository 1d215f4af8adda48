#include "analysis/fault_history.h"

#include <iterator>

namespace vmatrace {

void RecentProtects::add(const ProtectCall& c) {
  if (c.len == 0) return;
  uint64_t lo = c.addr & ~0xfffULL, hi = (c.addr + c.len + 0xfff) & ~0xfffULL;
  if (hi <= lo) return;  // wrapped: the kernel refused it anyway
  // Cut what overlaps [lo, hi): keep the parts outside.
  auto it = by_start_.lower_bound(lo);
  if (it != by_start_.begin()) {
    auto prev = std::prev(it);
    if (prev->second.end > lo) {
      Span tail = prev->second;
      prev->second.end = lo;
      if (tail.end > hi) by_start_.emplace(hi, tail);
    }
  }
  while (it != by_start_.end() && it->first < hi) {
    if (it->second.end > hi) by_start_.emplace(hi, it->second);
    it = by_start_.erase(it);
  }
  by_start_[lo] = {hi, c};
  if (by_start_.size() >= prune_at_) {
    forget_older_than(c.ns > window_ns_ ? c.ns - window_ns_ : 0);
    prune_at_ = 2 * by_start_.size() + 1024;  // amortised: a sweep per doubling
  }
}

void RecentProtects::forget_older_than(uint64_t ns) {
  for (auto it = by_start_.begin(); it != by_start_.end();)
    it = it->second.call.ns < ns ? by_start_.erase(it) : std::next(it);
}

const ProtectCall* RecentProtects::covering(uint64_t addr, uint64_t now_ns) const {
  auto it = by_start_.upper_bound(addr);
  if (it == by_start_.begin()) return nullptr;
  const Span& s = std::prev(it)->second;
  if (s.end <= addr || s.call.ns > now_ns || now_ns - s.call.ns > window_ns_) return nullptr;
  return &s.call;
}

void ReadPages::add(uint32_t pid, uint64_t addr) {
  uint64_t region = addr >> 21;
  if (!last_bits_ || pid != last_pid_ || region != last_region_) {
    last_pid_ = pid;
    last_region_ = region;
    last_bits_ = &by_pid_[pid][region];
  }
  last_bits_->set((addr >> 12) % kPagesPerRegion);
}

bool ReadPages::has(uint32_t pid, uint64_t addr) const {
  auto p = by_pid_.find(pid);
  if (p == by_pid_.end()) return false;
  auto r = p->second.find(addr >> 21);
  return r != p->second.end() && r->second.test((addr >> 12) % kPagesPerRegion);
}

void ReadPages::forget(uint32_t pid) {
  by_pid_.erase(pid);
  last_bits_ = nullptr;
}

}  // namespace vmatrace
