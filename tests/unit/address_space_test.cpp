// find()'s index must answer exactly what the ordered VMA set says, through
// every kind of change: checked against a plain search of vmas() after each
// of thousands of random replaces, splits, merges and stack growths.
#include <gtest/gtest.h>

#include <random>

#include "events/abi.h"
#include "model/address_space.h"
#include "model/maps_format.h"

namespace vmatrace {
namespace {

constexpr uint64_t kPg = 4096, kBase = 0x7f0000000000;

struct CountingObserver : AddressSpace::Observer {
  uint64_t next = 0;
  void removed(const Vma&) override {}
  void added(Vma* v) override { v->lifetime = next++; }
};

Vma vma(uint64_t first_page, uint64_t pages, uint64_t flags = 0x73) {
  Vma v;
  v.info.start = kBase + first_page * kPg;
  v.info.end = v.info.start + pages * kPg;
  v.info.flags = flags;
  return v;
}

// What find() must say: the VMA of vmas() holding addr, by a linear search.
const Vma* truth(const AddressSpace& s, uint64_t addr) {
  for (const auto& [start, v] : s.vmas())
    if (addr >= v.info.start && addr < v.info.end) return &v;
  return nullptr;
}

void expect_index_matches(const AddressSpace& s, uint64_t pages) {
  for (uint64_t p = 0; p < pages; p++)
    for (uint64_t addr : {kBase + p * kPg, kBase + p * kPg + kPg - 1}) {
      const Vma* want = truth(s, addr);
      const Vma* got = s.find(addr);
      ASSERT_EQ(got, want) << std::hex << addr;
      const VmaSpan* span = s.span_at(addr);
      ASSERT_EQ(span != nullptr, want != nullptr) << std::hex << addr;
      if (want) {
        EXPECT_EQ(span->start, want->info.start);
        EXPECT_EQ(span->end, want->info.end);
        EXPECT_EQ(span->lifetime, want->lifetime);
      }
    }
}

TEST(AddressSpaceIndex, AgreesWithTheVmaSetThroughRandomChanges) {
  for (uint64_t vmas : {3u, 40u, 300u}) {  // one block, a few, many
    AddressSpace s;
    CountingObserver obs;
    const uint64_t pages = vmas * 4;
    std::vector<Vma> seed;
    for (uint64_t i = 0; i < vmas; i++) seed.push_back(vma(i * 4, 2));
    s.replace(kBase, kBase + pages * kPg - 1, seed, &obs);
    std::mt19937_64 rng(vmas);
    for (int round = 0; round < 400; round++) {
      // A random range becomes 0-3 random VMAs (a munmap, an mmap, an mprotect split or merge).
      uint64_t lo_page = rng() % pages, len = 1 + rng() % 12;
      uint64_t hi_page = std::min(pages, lo_page + len);
      std::vector<Vma> fresh;
      for (uint64_t p = lo_page; p < hi_page;) {
        uint64_t n = 1 + rng() % (hi_page - p);
        if (rng() % 3) fresh.push_back(vma(p, n, 0x71 + 2 * (rng() % 2)));
        p += n;
      }
      s.replace(kBase + lo_page * kPg, kBase + hi_page * kPg - 1, fresh, &obs);
      if (round % 50 == 0) s.find(kBase);  // lookups between changes use and keep caches
      expect_index_matches(s, pages);
      if (HasFatalFailure()) return;
    }
    s.clear(&obs);
    expect_index_matches(s, pages);
  }
}

TEST(AddressSpaceIndex, FollowsAStackThatGrowsDown) {
  AddressSpace s;
  CountingObserver obs;
  s.replace(kBase, kBase + 64 * kPg - 1, {vma(0, 4), vma(40, 8, 0x73 | kVmGrowsDown)}, &obs);
  EXPECT_EQ(s.find(kBase + 39 * kPg), nullptr);
  Vma* grown = s.grow_stack_to(kBase + 30 * kPg + 8);
  ASSERT_NE(grown, nullptr);
  EXPECT_EQ(grown->info.start, kBase + 30 * kPg);
  expect_index_matches(s, 64);
  EXPECT_EQ(s.find(kBase + 35 * kPg), grown);
}

TEST(VmaIndex, BlocksSplitAndMergeWithoutLosingEntries) {
  VmaIndex index;
  std::vector<VmaIndex::Entry> all;
  for (uint64_t i = 0; i < 1000; i++) all.push_back({{i * 10, i * 10 + 5, i}, nullptr});
  index.replace(0, UINT64_MAX, all);
  EXPECT_EQ(index.size(), 1000u);
  // Empty most of the middle, then refill it one entry at a time.
  index.replace(1000, 8999, {});
  EXPECT_EQ(index.size(), 200u);
  EXPECT_EQ(index.find(5000), nullptr);
  for (uint64_t i = 100; i < 900; i++) index.replace(i * 10, i * 10, {all[i]});
  EXPECT_EQ(index.size(), 1000u);
  for (uint64_t i = 0; i < 1000; i++) {
    const auto* e = index.find(i * 10 + 4);
    ASSERT_NE(e, nullptr) << i;
    EXPECT_EQ(e->span.lifetime, i);
    EXPECT_EQ(index.find(i * 10 + 5), nullptr);
  }
  index.clear();
  EXPECT_EQ(index.find(40), nullptr);
}

}  // namespace
}  // namespace vmatrace
