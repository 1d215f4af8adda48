// A storm's VMAs keep their range and name after their lifetimes were
// folded away (more than Lifetimes::kWindow lifetimes later): the report
// used to show them as "0-0 [folded]".
#include <gtest/gtest.h>

#include "analysis/storms.h"
#include "analysis/symbolizer.h"
#include "events/abi.h"
#include "model/model.h"

namespace vmatrace {
namespace {

constexpr uint32_t kPid = 7;
constexpr uint64_t kPg = 4096, kStorm = 0x7f0000000000, kChurn = 0x10000000;

void snapshot(Model* m, uint64_t lo, uint64_t hi, const std::vector<VmaInfo>& vmas, uint64_t ts) {
  for (const auto& v : vmas) {
    Event e;
    e.kind = Kind::Vma;
    e.pid = e.tid = kPid;
    e.ts = ts;
    e.vma = v;
    e.vma.reason = VT_VMA_SNAPSHOT;
    m->apply(e);
  }
  Event s;
  s.kind = Kind::Snapshot;
  s.pid = s.tid = kPid;
  s.ts = ts;
  s.mm = 0x1000;
  s.lo = lo;
  s.hi = hi;
  s.count = static_cast<uint32_t>(vmas.size());
  s.snap_reason = VT_SNAP_SYSCALL;
  m->apply(s);
}

VmaInfo vma(uint64_t start, uint64_t pages, const std::string& path = "") {
  VmaInfo v;
  v.start = start;
  v.end = start + pages * kPg;
  v.flags = 0x3;
  v.path = path;
  if (!path.empty()) v.path_flags = VT_PATH_FILE;
  return v;
}

TEST(StormTally, VmasKeepTheirRangeAndNameAfterTheirLifetimesFold) {
  TraceMeta meta;
  meta.target_pid = kPid;
  meta.kernel_release = "6.18.0";
  Model m(meta);
  snapshot(&m, 0, ~0ULL, {vma(kStorm, 64, "/data/storm.bin")}, 1);
  Storm storm;
  storm.end_ns = ~0ULL;
  StormTally tally({storm});
  for (uint64_t i = 0; i < 64; i++) {
    Event f;
    f.kind = Kind::Fault;
    f.pid = f.tid = kPid;
    f.ts = 2;
    f.addr = kStorm + i * kPg;
    f.error_code = VT_PF_USER | VT_PF_WRITE;
    m.apply(f);
    tally.add(0, f, m.last_fault_vma(), std::nullopt, m);
  }
  snapshot(&m, kStorm, kStorm + 64 * kPg - 1, {}, 3);  // unmapped: its lifetime ends
  for (uint64_t i = 0; i < Lifetimes::kWindow + 10; i++) {  // and is folded
    snapshot(&m, kChurn, kChurn + kPg - 1, {vma(kChurn, 1)}, 4 + i);
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
