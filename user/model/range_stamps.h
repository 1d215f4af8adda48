// When each part of an address space was last spoken for by a kernel
// snapshot: the time its snapshot was taken (at the syscall's exit, before
// its walk). Kernels whose VMA iterator locks one VMA at a time (6.12.y and
// 6.18.y since 2026) let one thread's snapshot reach the ring buffer after
// another thread's later one of the same range: the older must not undo the
// newer there.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <utility>
#include <vector>

namespace vmatrace {

class RangeStamps {
 public:
  // Inclusive byte ranges [first, last].
  using Range = std::pair<uint64_t, uint64_t>;

  // The maximal parts of [first, last] that no snapshot newer than ts spoke
  // for, in order.
  std::vector<Range> not_newer_than(uint64_t first, uint64_t last, uint64_t ts) const;
  // [first, last] was spoken for at ts.
  void stamp(uint64_t first, uint64_t last, uint64_t ts);
  size_t size() const { return stamps_.size(); }

 private:
  struct Stamp {
    uint64_t last;
    uint64_t ts;
  };
  void forget_old();

  static constexpr size_t kManyStamps = 4096;

  std::map<uint64_t, Stamp> stamps_;  // by first byte; apart
  uint64_t newest_ = 0;
  size_t forget_at_ = kManyStamps;
};

}  // namespace vmatrace
