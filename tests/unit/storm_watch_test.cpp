// The live storm detector (--trigger storm, the live view): the report's
// rule over the last minute of faults, in bounded memory.
#include "analysis/storm_watch.h"

#include <gtest/gtest.h>

#include "live/live_stats.h"
#include "record/trace_file.h"
#include "synthetic_events.h"

namespace vmatrace {
namespace {

constexpr uint64_t kMs = 1'000'000, kS = 1'000 * kMs;
constexpr uint64_t kT0 = 5000 * kS;  // CLOCK_MONOTONIC of the first fault

Event fault(uint64_t ts) { return fault_event(7, ts, 0x10000000); }

// 100 faults/s for 20 s, then 10,000/s for 0.5 s.
template <typename Sink>
void calm_then_storm(Sink&& add) {
  for (uint64_t t = 0; t < 20 * kS; t += 10 * kMs) add(fault(kT0 + t));
  for (uint64_t t = 20 * kS; t < 20 * kS + 500 * kMs; t += 100'000) add(fault(kT0 + t));
}

TEST(StormWatch, FindsTheStormWithItsFaultsInMonotonicTime) {
  StormWatch w;
  calm_then_storm([&](const Event& e) { w.add(e); });
  w.advance(kT0 + 21 * kS);
  auto s = w.latest();
  ASSERT_TRUE(s);
  EXPECT_EQ(s->start_ns, kT0 + 20 * kS);
  EXPECT_EQ(s->end_ns, kT0 + 20 * kS + 500 * kMs);
  EXPECT_EQ(s->faults, 5000u);
  EXPECT_GE(s->peak_rate, 9000.0);
  auto span = w.latest_storm(kT0 + 21 * kS);
  ASSERT_TRUE(span);
  EXPECT_EQ(span->start_ns, s->start_ns);
}

TEST(StormWatch, ForgetsWhatIsOlderThanAMinute) {
  StormWatch w;
  calm_then_storm([&](const Event& e) { w.add(e); });
  EXPECT_TRUE(w.latest_storm(kT0 + 80 * kS));
  EXPECT_FALSE(w.latest_storm(kT0 + 81 * kS)) << "the storm's bins left the window";
  // Hours later, a storm over a quiet minute is found again.
  const uint64_t later = kT0 + 3600 * kS;
  for (uint64_t t = 0; t < 500 * kMs; t += 100'000) w.add(fault(later + t));
  auto s = w.latest_storm(later + kS);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->start_ns, later);
}

// The live view's storm: the same rule, times from the recording's start,
// and only while it goes on.
TEST(LiveStats, TheRunningStormIsTheWatchsWhileItLasts) {
  const uint64_t start = kT0 - 2 * kS;
  LiveStats stats(start);
  Model model{TraceMeta{}};
  calm_then_storm([&](const Event& e) { stats.on_event(e, model); });
  stats.advance(kT0 + 20 * kS + 550 * kMs);
  auto s = stats.running_storm();
  ASSERT_TRUE(s);
  EXPECT_EQ(s->start_ns, 22 * kS);
  EXPECT_EQ(s->faults, 5000u);
  stats.advance(kT0 + 22 * kS);
  EXPECT_FALSE(stats.running_storm()) << "over for 1.5 s";
}

}  // namespace
}  // namespace vmatrace
