// The lookup side of an address space: which VMA holds an address, asked for
// every fault. Entries sit in sorted blocks of at most kBlock, found by a
// branch-free binary search over the blocks' first starts and then within one
// block: a few cache lines, no mispredicted branches (a std::map walk misses
// both at every level). A change rewrites only the blocks it touches, so a
// 10,000-VMA process pays for a change what a 100-VMA one does.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace vmatrace {

struct Vma;

// Where an address falls: its VMA's range and lifetime.
struct VmaSpan {
  uint64_t start = 0, end = 0, lifetime = 0;
};

class VmaIndex {
 public:
  struct Entry {
    VmaSpan span;
    Vma* vma = nullptr;
  };

  // The entries starting in [lo, hi] become `now` (sorted by start, every
  // start in [lo, hi]).
  void replace(uint64_t lo, uint64_t hi, const std::vector<Entry>& now);
  void clear();
  // The entry whose [start, end) holds addr.
  const Entry* find(uint64_t addr) const;
  size_t size() const;

 private:
  static constexpr size_t kBlock = 64;
  struct Block {
    std::vector<uint64_t> starts;  // entries[i].span.start, searched
    std::vector<Entry> entries;
  };
  std::vector<uint64_t> firsts_;  // blocks_[i].starts.front()
  std::vector<Block> blocks_;
};

}  // namespace vmatrace
