#include "model/range_stamps.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

namespace vmatrace {
namespace {

using Parts = std::vector<RangeStamps::Range>;

TEST(RangeStamps, NothingStampedIsNotNewerThanAnything) {
  RangeStamps s;
  EXPECT_EQ(s.not_newer_than(0x1000, 0x4fff, 0), (Parts{{0x1000, 0x4fff}}));
  EXPECT_EQ(s.not_newer_than(0, UINT64_MAX, 0), (Parts{{0, UINT64_MAX}}));
}

TEST(RangeStamps, OnlyTheNewerPartsAreLeftOut) {
  RangeStamps s;
  s.stamp(0x3000, 0x4fff, 10);
  EXPECT_EQ(s.not_newer_than(0x1000, 0x8fff, 5), (Parts{{0x1000, 0x2fff}, {0x5000, 0x8fff}}));
  EXPECT_EQ(s.not_newer_than(0x1000, 0x8fff, 10), (Parts{{0x1000, 0x8fff}}));  // as new: not newer
  EXPECT_EQ(s.not_newer_than(0x4000, 0x4fff, 5), Parts{});
  EXPECT_EQ(s.not_newer_than(0x4000, 0x6fff, 5), (Parts{{0x5000, 0x6fff}}));
  EXPECT_EQ(s.not_newer_than(0x2000, 0x3fff, 5), (Parts{{0x2000, 0x2fff}}));
}

TEST(RangeStamps, AStampInsideAnotherSplitsIt) {
  RangeStamps s;
  s.stamp(0x1000, 0x8fff, 10);
  s.stamp(0x3000, 0x3fff, 20);
  EXPECT_EQ(s.size(), 3u);
  EXPECT_EQ(s.not_newer_than(0x1000, 0x8fff, 15), (Parts{{0x1000, 0x2fff}, {0x4000, 0x8fff}}));
  EXPECT_EQ(s.not_newer_than(0x1000, 0x8fff, 5), Parts{});
  // Over both ends of the earlier ones: one stamp where there were three.
  s.stamp(0x0000, 0x9fff, 30);
  EXPECT_EQ(s.size(), 1u);
  EXPECT_EQ(s.not_newer_than(0x0000, 0xafff, 25), (Parts{{0xa000, 0xafff}}));
}

TEST(RangeStamps, AStampOverTheEndOfAnotherKeepsItsStart) {
  RangeStamps s;
  s.stamp(0x1000, 0x4fff, 10);
  s.stamp(0x3000, UINT64_MAX, 5);
  EXPECT_EQ(s.not_newer_than(0, UINT64_MAX, 7), (Parts{{0, 0xfff}, {0x3000, UINT64_MAX}}));
  s.stamp(0, 0x1fff, 8);
  EXPECT_EQ(s.not_newer_than(0, UINT64_MAX, 7), (Parts{{0x3000, UINT64_MAX}}));
}

// A stamp per VMA of a big process stays; stamps 2 s older than the newest
// go once there are many.
TEST(RangeStamps, OldStampsGoOnceThereAreMany) {
  RangeStamps s;
  constexpr uint64_t kSecond = 1'000'000'000;
  for (uint64_t i = 0; i < 5000; i++) s.stamp(i * 0x2000, i * 0x2000 + 0xfff, kSecond);
  EXPECT_EQ(s.size(), 5000u);  // all as new as the newest
  s.stamp(0x10000000, 0x10000fff, 4 * kSecond);
  for (uint64_t i = 0; i < 5000; i++) s.stamp(0x20000000 + i * 0x2000, 0x20000fff + i * 0x2000, 4 * kSecond);
  EXPECT_LE(s.size(), 5001u);  // the first 5,000 went
  EXPECT_EQ(s.not_newer_than(0, 0xfff, 0), (Parts{{0, 0xfff}}));
}

}  // namespace
}  // namespace vmatrace
