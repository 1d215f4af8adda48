#include "model/vma_index.h"

#include <algorithm>

namespace vmatrace {
namespace {

// The position of the last value <= key (0 if none is): a conditional move
// a step, not a branch.
size_t last_at_most(const std::vector<uint64_t>& v, uint64_t key) {
  const uint64_t* base = v.data();
  size_t n = v.size();
  while (n > 1) {
    size_t half = n / 2;
    base = base[half] <= key ? base + half : base;
    n -= half;
  }
  return static_cast<size_t>(base - v.data());
}

}  // namespace

size_t VmaIndex::size() const {
  size_t n = 0;
  for (const auto& b : blocks_) n += b.entries.size();
  return n;
}

void VmaIndex::clear() {
  firsts_.clear();
  blocks_.clear();
}

void VmaIndex::replace(uint64_t lo, uint64_t hi, const std::vector<Entry>& now) {
  // Blocks b0..b1 hold every entry starting in [lo, hi].
  size_t b0 = 0, b1 = 0;
  if (!blocks_.empty()) {
    b0 = last_at_most(firsts_, lo);
    b1 = std::max(b0, last_at_most(firsts_, hi));
  }
  auto pos = [](auto& v, size_t i) { return v.begin() + static_cast<long>(i); };
  // Most changes stay inside one block: edit it in place.
  if (!blocks_.empty() && b0 == b1) {
    Block& b = blocks_[b0];
    size_t first = static_cast<size_t>(std::lower_bound(b.starts.begin(), b.starts.end(), lo) - b.starts.begin());
    size_t last = static_cast<size_t>(std::upper_bound(b.starts.begin(), b.starts.end(), hi) - b.starts.begin());
    size_t after = b.entries.size() - (last - first) + now.size();
    if (after > 0 && after <= kBlock) {
      // One move of the tail: open or close the gap, then overwrite.
      size_t had = last - first;
      if (now.size() > had) {
        b.entries.insert(pos(b.entries, last), now.size() - had, Entry{});
        b.starts.insert(pos(b.starts, last), now.size() - had, 0);
      } else if (now.size() < had) {
        b.entries.erase(pos(b.entries, first + now.size()), pos(b.entries, last));
        b.starts.erase(pos(b.starts, first + now.size()), pos(b.starts, last));
      }
      for (size_t i = 0; i < now.size(); i++) {
        b.entries[first + i] = now[i];
        b.starts[first + i] = now[i].span.start;
      }
      firsts_[b0] = b.starts.front();
      return;
    }
  }
  std::vector<Entry> merged;
  auto keep = [&](size_t b, bool before) {
    for (const Entry& e : blocks_[b].entries)
      if (before ? e.span.start < lo : e.span.start > hi) merged.push_back(e);
  };
  for (size_t b = b0; b <= b1 && b < blocks_.size(); b++) keep(b, true);
  merged.insert(merged.end(), now.begin(), now.end());
  for (size_t b = b0; b <= b1 && b < blocks_.size(); b++) keep(b, false);
  // Small blocks merge with their successor: the block count stays near size / kBlock.
  size_t end = std::min(b1 + 1, blocks_.size());
  if (merged.size() < kBlock / 2 && end < blocks_.size()) {
    const auto& next = blocks_[end].entries;
    merged.insert(merged.end(), next.begin(), next.end());
    end++;
  }
  size_t chunks = (merged.size() + kBlock - 1) / kBlock;
  std::vector<Block> fresh(chunks);
  std::vector<uint64_t> fresh_firsts(chunks);
  for (size_t c = 0, at = 0; c < chunks; c++) {
    size_t len = (merged.size() - at) / (chunks - c);  // balanced
    Block& b = fresh[c];
    b.entries.assign(merged.begin() + static_cast<long>(at), merged.begin() + static_cast<long>(at + len));
    for (const Entry& e : b.entries) b.starts.push_back(e.span.start);
    fresh_firsts[c] = b.starts.front();
    at += len;
  }
  blocks_.erase(pos(blocks_, b0), pos(blocks_, end));
  blocks_.insert(pos(blocks_, b0), std::make_move_iterator(fresh.begin()), std::make_move_iterator(fresh.end()));
  firsts_.erase(pos(firsts_, b0), pos(firsts_, end));
  firsts_.insert(pos(firsts_, b0), fresh_firsts.begin(), fresh_firsts.end());
}

const VmaIndex::Entry* VmaIndex::find(uint64_t addr) const {
  if (blocks_.empty() || addr < firsts_.front()) return nullptr;
  const Block& b = blocks_[last_at_most(firsts_, addr)];
  const Entry& e = b.entries[last_at_most(b.starts, addr)];
  return e.span.start <= addr && addr < e.span.end ? &e : nullptr;
}

}  // namespace vmatrace
