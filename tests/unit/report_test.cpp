// `vmatrace report` as one pass: every output from a single read of the
// trace's events, and the folded stacks named as at each fault even though
// a stack is written after the faults naming it.
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <iterator>

#include "cli/commands.h"
#include "cli/report_pass.h"
#include "events/abi.h"
#include "record/trace_file.h"
#include "synthetic_events.h"
#include "temp_trace.h"

namespace vmatrace {
namespace {

constexpr uint32_t kPid = 77;
constexpr uint64_t kT0 = 1'000'000'000, kMs = 1'000'000, kPg = 4096;
constexpr uint64_t kCode = 0x400000, kData = 0x7f0000000000;
constexpr int32_t kStack = 5;

class ReportTest : public TempTraceTest {
 protected:
  void TearDown() override {
    for (const char* f : {"/h.svg", "/p.json", "/f.txt"}) unlink((dir_ + f).c_str());
    TempTraceTest::TearDown();
  }

  static Event vma(uint64_t start, uint64_t pages, uint64_t flags, const char* path) {
    VmaInfo v = anon_vma(start, pages, flags);
    v.path = path;
    return vma_record(kPid, kT0, v);
  }
  static Event snapshot(uint64_t ts, uint64_t lo, uint64_t hi, uint32_t count) {
    return snapshot_record(kPid, ts, 0xffff888000001000, lo, hi, count, count == 2 ? VT_SNAP_SEED : VT_SNAP_SYSCALL);
  }
  static Event stack(uint64_t ts) {
    Event s;
    s.kind = Kind::Stack;
    s.ts = ts;
    s.stack_id = kStack;
    s.stack = {kCode + 0x120, kCode + 0x240};
    return s;
  }

  // A code VMA and a data VMA; faults on the data sampled with one stack in
  // the code; the code is unmapped at 50 ms. stack_first: the stack record
  // comes before the faults (else after the unmap, as a recorder writes it).
  void write(bool stack_first) {
    auto w = TraceWriter::create(path_);
    ASSERT_TRUE(w);
    TraceMeta meta;
    meta.clock_monotonic_ns = kT0;
    meta.target_pid = kPid;
    meta.command = {"/opt/app"};
    meta.kernel_release = "6.18.0";
    ASSERT_TRUE((*w)->write_header(meta));
    ASSERT_TRUE((*w)->append(vma(kCode, 16, 0x75, "/nonexistent/app")));
    ASSERT_TRUE((*w)->append(vma(kData, 64, 0x73, "")));
    ASSERT_TRUE((*w)->append(snapshot(kT0, 0, ~0ULL, 2)));
    if (stack_first) {
      ASSERT_TRUE((*w)->append(stack(kT0)));
    }
    for (uint64_t i = 0; i < 40; i++) {
      Event f = fault_event(kPid, kT0 + (i + 1) * kMs, kData + (i % 64) * kPg);
      f.ip = kCode + 0x120;
      f.latency_ns = 2000;
      f.stack_id = i % 2 ? kStack : -1;
      ASSERT_TRUE((*w)->append(f));
      if (i % 10 == 9) {
        ASSERT_TRUE((*w)->flush());
      }
    }
    ASSERT_TRUE((*w)->append(snapshot(kT0 + 50 * kMs, kCode, kCode + 16 * kPg - 1, 0)));
    if (!stack_first) {
      ASSERT_TRUE((*w)->append(stack(kT0 + 60 * kMs)));
    }
    ASSERT_TRUE((*w)->finish(LostCounts{}));
  }

  // run_report's exit code and stdout, and how many times it read the events.
  struct Run {
    int code;
    std::string out;
    uint64_t passes;
  };
  Run report(const ReportOptions& opts) {
    uint64_t before = TraceReader::event_passes();
    testing::internal::CaptureStdout();
    int code = run_report(opts);
    std::string out = testing::internal::GetCapturedStdout();
    return {code, out, TraceReader::event_passes() - before};
  }

  std::string slurp(const std::string& name) {
    std::ifstream in(dir_ + name, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
};

TEST_F(ReportTest, EveryOutputComesFromOneReadOfTheEvents) {
  write(false);
  ReportOptions all;
  all.file = path_;
  all.heatmap = dir_ + "/h.svg";
  all.perfetto = dir_ + "/p.json";
  all.folded = dir_ + "/f.txt";
  Run r = report(all);
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(r.passes, 1u);
  EXPECT_NE(slurp("/h.svg").find("<svg"), std::string::npos);
  EXPECT_NE(slurp("/p.json").find("traceEvents"), std::string::npos);
  EXPECT_NE(slurp("/f.txt").find("app;"), std::string::npos);

  for (auto set : {+[](ReportOptions* o) { o->json = true; }, +[](ReportOptions*) {},
                   +[](ReportOptions* o) { o->events = true; }, +[](ReportOptions* o) { o->maps = true; },
                   +[](ReportOptions* o) { o->maps = true, o->at_s = 0.02; }}) {
    ReportOptions o;
    o.file = path_;
    set(&o);
    r = report(o);
    EXPECT_EQ(r.code, 0);
    EXPECT_FALSE(r.out.empty());
    EXPECT_EQ(r.passes, 1u) << "json " << o.json << " events " << o.events << " maps " << o.maps;
  }
}

TEST_F(ReportTest, FoldedFramesAreNamedAsAtTheFaultWhereverTheStackComes) {
  write(true);
  auto first = read_trace(path_, ReportWants{AnalysisOptions{}, false, true});
  ASSERT_TRUE(first) << first.error();
  write(false);
  auto after = read_trace(path_, ReportWants{AnalysisOptions{}, false, true});
  ASSERT_TRUE(after) << after.error();
  const FoldedStacks& a = *(*first)->folded;
  const FoldedStacks& b = *(*after)->folded;
  EXPECT_EQ(a.faults, 20u);
  EXPECT_EQ(a.lost, 0u);
  EXPECT_EQ(a.text.find("[unknown]"), std::string::npos) << a.text;
  EXPECT_EQ(b.faults, a.faults);
  EXPECT_EQ(b.lost, a.lost);
  EXPECT_EQ(b.text, a.text) << "the code was unmapped before its stack was written";
}

TEST_F(ReportTest, AFaultWhoseStackNeverCameIsLost) {
  write(true);
  auto full = read_trace(path_, ReportWants{AnalysisOptions{}, false, true});
  ASSERT_TRUE(full) << full.error();
  EXPECT_EQ((*full)->folded->lost, 0u);
  // The same trace without its stack record: every sampled fault lost.
  auto w = TraceWriter::create(path_);
  ASSERT_TRUE(w);
  TraceMeta meta;
  meta.clock_monotonic_ns = kT0;
  meta.target_pid = kPid;
  ASSERT_TRUE((*w)->write_header(meta));
  Event f;
  f.kind = Kind::Fault;
  f.pid = f.tid = kPid;
  f.ts = kT0 + kMs;
  f.stack_id = kStack;
  ASSERT_TRUE((*w)->append(f));
  ASSERT_TRUE((*w)->finish(LostCounts{}));
  auto none = read_trace(path_, ReportWants{AnalysisOptions{}, false, true});
  ASSERT_TRUE(none) << none.error();
  EXPECT_EQ((*none)->folded->lost, 1u);
  EXPECT_EQ((*none)->folded->faults, 0u);
}

}  // namespace
}  // namespace vmatrace
