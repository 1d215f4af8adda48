// read_trace() over synthetic traces: storms found from the chunk indexes and
// tallied in the same pass as the heatmap, also when a chunk is damaged
// inside (the events end before the indexes do).
#include "analysis/analysis.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <iterator>
#include <numeric>

#include "analysis/heat_builder.h"
#include "analysis/storms.h"
#include "analysis/symbolizer.h"
#include "events/abi.h"
#include "cli/report_pass.h"
#include "synthetic_events.h"
#include "temp_trace.h"

namespace vmatrace {
namespace {

constexpr uint32_t kPid = 77;
constexpr uint64_t kT0 = 1'000'000'000, kMs = 1'000'000, kPg = 4096;
constexpr uint64_t kQuietVma = 0x7f0000000000, kStormVma = 0x7f0001000000, kCode = 0x400000;

class AnalysisTest : public TempTraceTest {
 protected:
  Event vma(uint64_t start, uint64_t pages, uint64_t flags) {
    return vma_record(kPid, kT0, anon_vma(start, pages, flags));
  }

  // 1 s quiet (a fault every 10 ms), a storm of 5,000 faults in 50 ms on
  // the storm VMA, 1 s quiet; a chunk every 100 ms of trace time.
  void write(uint64_t* storm_chunk) {
    auto w = TraceWriter::create(path_);
    ASSERT_TRUE(w);
    TraceMeta meta;
    meta.clock_monotonic_ns = kT0;
    meta.target_pid = kPid;
    meta.kernel_release = "6.18.0";
    ASSERT_TRUE((*w)->write_header(meta));
    for (const Event& v : {vma(kCode, 16, 0x75), vma(kQuietVma, 256, 0x73), vma(kStormVma, 4096, 0x73)})
      ASSERT_TRUE((*w)->append(v));
    ASSERT_TRUE((*w)->append(snapshot_record(kPid, kT0, 0xffff888000001000, 0, ~0ULL, 3, VT_SNAP_SEED)));
    Event f = fault_event(kPid, 0, 0);  // each put() sets where and when
    f.ip = kCode + 0x100;
    f.latency_ns = 2000;
    uint64_t chunks = 0, next_flush = kT0 + 100 * kMs;
    auto put = [&](uint64_t ts, uint64_t addr) {
      if (ts >= next_flush) {
        ASSERT_TRUE((*w)->flush());
        chunks++;
        next_flush += 100 * kMs;
      }
      f.ts = ts;
      f.addr = addr;
      ASSERT_TRUE((*w)->append(f));
    };
    for (uint64_t i = 0; i < 100; i++) put(kT0 + i * 10 * kMs, kQuietVma + (i % 256) * kPg);
    *storm_chunk = chunks;
    for (uint64_t i = 0; i < 5000; i++) put(kT0 + 1000 * kMs + i * 10'000, kStormVma + (i % 4096) * kPg);
    for (uint64_t i = 0; i < 100; i++) put(kT0 + 1050 * kMs + i * 10 * kMs, kQuietVma + (i % 256) * kPg);
    ASSERT_TRUE((*w)->finish(LostCounts{}));
  }

  // Flips a byte inside the payload of chunk n (0-based).
  void damage_payload(uint64_t n) {
    std::string all;
    {
      std::ifstream in(path_, std::ios::binary);
      all.assign(std::istreambuf_iterator<char>(in), {});
    }
    auto u32 = [&](size_t at) {
      const auto* p = reinterpret_cast<const uint8_t*>(all.data() + at);
      return p[0] | p[1] << 8 | p[2] << 16 | static_cast<uint32_t>(p[3]) << 24;
    };
    size_t at = 8 + 8 + u32(12) + 4;
    for (uint64_t i = 0; i < n; i++) at += 32 + u32(at + 16) + u32(at + 8);
    all[at + 32 + u32(at + 16) + 2] ^= 0x5a;
    std::ofstream(path_, std::ios::binary | std::ios::trunc) << all;
  }
};

TEST_F(AnalysisTest, OneStormChargedToItsVmaWithTheHeatmapInTheSamePass) {
  uint64_t storm_chunk;
  write(&storm_chunk);
  AnalysisOptions o;
  o.want_heatmap = true;
  auto pass = read_trace(path_, ReportWants{o});
  ASSERT_TRUE(pass) << pass.error();
  const ReportPass* p = pass->get();
  const Analysis* a = &p->analysis;
  EXPECT_TRUE(p->read.warning.empty()) << p->read.warning;
  ASSERT_EQ(a->storms.size(), 1u);
  const Storm& s = a->storms[0];
  EXPECT_EQ(s.start_ns, 1000 * kMs);
  EXPECT_EQ(s.end_ns, 1050 * kMs);
  EXPECT_EQ(s.faults, 5000u);
  ASSERT_FALSE(s.vmas.empty());
  EXPECT_EQ(s.vmas[0].start, kStormVma);
  EXPECT_EQ(s.vmas[0].faults, 5000u);
  EXPECT_EQ(p->summary.faults(), 5200u);
  EXPECT_EQ(a->duration_ns, 2040 * kMs);
  // Heatmap: the storm VMA's 16 MiB in 8 slices, every fault in a row.
  uint64_t in_rows = 0, storm_rows = 0;
  for (const auto& row : a->heatmap.rows) {
    in_rows += row.total;
    if (row.start >= kStormVma && row.end <= kStormVma + 4096 * kPg) storm_rows++;
    EXPECT_EQ(row.total, std::accumulate(row.cells.begin(), row.cells.end(), uint64_t{0}));
  }
  EXPECT_EQ(in_rows, 5200u);
  EXPECT_EQ(storm_rows, 8u);
  EXPECT_EQ(a->heatmap.faults_outside_rows, 0u);
}

TEST_F(AnalysisTest, ADamagedChunkAfterTheStormLeavesTheStormWhole) {
  uint64_t storm_chunk;
  write(&storm_chunk);
  damage_payload(storm_chunk + 3);
  auto pass = read_trace(path_, ReportWants{AnalysisOptions{}});
  ASSERT_TRUE(pass) << pass.error();
  const ReportPass* p = pass->get();
  const Analysis* a = &p->analysis;
  EXPECT_NE(p->read.warning.find("corrupt"), std::string::npos) << p->read.warning;
  ASSERT_EQ(a->storms.size(), 1u);
  EXPECT_EQ(a->storms[0].faults, 5000u);
  EXPECT_LT(a->duration_ns, 2040 * kMs) << "the trace ends where reading stopped";
}

TEST_F(AnalysisTest, ADamagedStormChunkIsNoStormWithoutFaults) {
  uint64_t storm_chunk;
  write(&storm_chunk);
  damage_payload(storm_chunk);  // the storm's chunk: its index is fine, its events are lost
  auto pass = read_trace(path_, ReportWants{AnalysisOptions{}});
  ASSERT_TRUE(pass) << pass.error();
  const ReportPass* p = pass->get();
  const Analysis* a = &p->analysis;
  for (const auto& s : a->storms) EXPECT_GT(s.faults, 0u);
  EXPECT_TRUE(a->storms.empty());
}

TEST(HeatBuilder, ManyCellsMoveFromTheListToTheGridWithTheirCounts) {
  HeatBuilder h(0, 1000, 100);
  VmaSpan v{0x10000, 0x10000 + 2048 * 4096, 0};  // 2,048 pages: 8 slices of 256
  uint64_t faults = 0;
  for (uint64_t t = 0; t < 1000; t++)
    for (uint64_t s = 0; s < 8; s += 3) {
      h.add(t, v, v.start + s * 256 * 4096 + 5);
      faults++;
    }
  h.add(999, v, v.start);  // a late one, out of order: still counted
  faults++;
  Model model{TraceMeta{}};
  // Lifetime 0 must exist for build(): one VMA.
  Event e;
  e.kind = Kind::Vma;
  e.vma.start = v.start;
  e.vma.end = v.end;
  e.vma.reason = VT_VMA_SNAPSHOT;
  model.apply(e);
  Event snap;
  snap.kind = Kind::Snapshot;
  snap.hi = ~0ULL;
  snap.count = 1;
  snap.mm = 1;
  snap.snap_reason = VT_SNAP_SEED;
  model.apply(snap);
  ASSERT_FALSE(model.lifetimes().empty());
  Heatmap map = h.build(model, 40);
  ASSERT_EQ(map.rows.size(), 8u);
  uint64_t total = 0;
  for (size_t r = 0; r < 8; r++) {
    total += map.rows[r].total;
    uint64_t want = r % 3 == 0 ? 1000 : 0;
    if (r == 0) want += 1;
    EXPECT_EQ(map.rows[r].total, want) << r;
  }
  EXPECT_EQ(total, faults);
  EXPECT_EQ(map.rows[0].cells[99], 11u) << "10 in time, 1 late";
}

}  // namespace
}  // namespace vmatrace

namespace vmatrace {
namespace {

// Storm code is named from the files the trace says were mapped: a name
// that is a FIFO (or a device) is not opened — it once hung report.
TEST_F(AnalysisTest, CodeInAFileThatIsNotRegularIsNamedWithoutOpeningIt) {
  const std::string fifo = dir_ + "/fifo";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  VmaInfo v;
  v.start = 0x400000;
  v.end = 0x401000;
  v.path = fifo;
  v.path_flags = VT_PATH_FILE;
  Symbolizer sym;
  EXPECT_EQ(sym.symbolize(0x400123, v, fifo), "fifo+0x123");
  unlink(fifo.c_str());
}

}  // namespace
}  // namespace vmatrace

namespace vmatrace {
namespace {

// A stall of the machine a few bins into a storm (no faults for 30 ms) must
// not leave the storm's first faults outside it; the calm around stays out.
TEST(FindStorms, EdgesReachAcrossAStallButNotIntoTheCalm) {
  std::vector<uint32_t> bins(200, 1);  // calm: a fault per bin
  const size_t first = bins.size();
  for (uint32_t n : {5u, 0u, 0u, 0u}) bins.push_back(n);  // starts, stalls
  for (int i = 0; i < 50; i++) bins.push_back(100);
  for (uint32_t n : {0u, 0u, 6u}) bins.push_back(n);  // stalls, ends
  const size_t end = bins.size();
  bins.insert(bins.end(), 200, 1);
  double baseline = 0;
  auto storms = find_storms(bins, 10'000'000, AnalysisOptions{}, &baseline);
  ASSERT_EQ(storms.size(), 1u);
  EXPECT_EQ(baseline, 100.0);
  EXPECT_EQ(storms[0].start_ns, first * 10'000'000);
  EXPECT_EQ(storms[0].end_ns, end * 10'000'000);
}

}  // namespace
}  // namespace vmatrace
