// A storm's VMAs keep their range and name after their lifetimes were
// folded away (more than Lifetimes::kWindow lifetimes later): the report
// used to show them as "0-0 [folded]".
#include <gtest/gtest.h>

#include "analysis/storms.h"
#include "analysis/symbolizer.h"
#include "events/abi.h"
#include "model/maps_format.h"
#include "model/model.h"
#include "synthetic_events.h"

namespace vmatrace {
namespace {

constexpr uint32_t kPid = 7;
constexpr uint64_t kPg = 4096, kStorm = 0x7f0000000000, kChurn = 0x10000000;

void snapshot(Model* m, uint64_t lo, uint64_t hi, const std::vector<VmaInfo>& vmas, uint64_t ts) {
  feed(m, snapshot_events(kPid, ts, 0x1000, lo, hi, vmas));
}

TEST(StormTally, VmasKeepTheirRangeAndNameAfterTheirLifetimesFold) {
  TraceMeta meta;
  meta.target_pid = kPid;
  meta.kernel_release = "6.18.0";
  Model m(meta);
  snapshot(&m, 0, ~0ULL, {file_vma(kStorm, 64, kVmRead | kVmWrite, "/data/storm.bin")}, 1);
  Storm storm;
  storm.end_ns = ~0ULL;
  StormTally tally({storm});
  for (uint64_t i = 0; i < 64; i++) {
    Event f = fault_event(kPid, 2, kStorm + i * kPg);
    m.apply(f);
    tally.add(0, f, m.last_fault_vma(), std::nullopt, m);
  }
  snapshot(&m, kStorm, kStorm + 64 * kPg - 1, {}, 3);  // unmapped: its lifetime ends
  for (uint64_t i = 0; i < Lifetimes::kWindow + 10; i++) {  // and is folded
    snapshot(&m, kChurn, kChurn + kPg - 1, {anon_vma(kChurn, 1)}, 4 + i);
    snapshot(&m, kChurn, kChurn + kPg - 1, {}, 4 + i);
  }
  ASSERT_GT(m.lifetimes().folded(), 0u);
  m.refresh_open_names();
  Symbolizer sym;
  auto storms = tally.finish(m, &sym);
  ASSERT_EQ(storms.size(), 1u);
  ASSERT_EQ(storms[0].vmas.size(), 1u);
  EXPECT_EQ(storms[0].vmas[0].name, "/data/storm.bin");
  EXPECT_EQ(storms[0].vmas[0].start, kStorm);
  EXPECT_EQ(storms[0].vmas[0].end, kStorm + 64 * kPg);
  EXPECT_EQ(storms[0].vmas[0].faults, 64u);
}

}  // namespace
}  // namespace vmatrace
