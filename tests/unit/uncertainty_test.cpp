// Loss is visible where it matters: after a lost or failed VMA event the
// model marks the process (report --maps prints a warning line first,
// report --json lists model.uncertain) until its next good snapshot of its
// whole address space.
#include <gtest/gtest.h>

#include "analysis/analysis.h"
#include "events/abi.h"
#include "model/maps_format.h"
#include "model/model.h"
#include "output/json_output.h"
#include "cli/report_pass.h"
#include "synthetic_events.h"
#include "temp_trace.h"

namespace vmatrace {
namespace {

constexpr uint64_t kT0 = 1'000'000'000, kS = 1'000'000'000, kPg = 4096, kA = 0x10000000;

// The events of a kernel snapshot of pid's [lo, hi] (status: the walk's).
std::vector<Event> snapshot(uint32_t pid, uint64_t mm, uint64_t lo, uint64_t hi, const std::vector<VmaInfo>& vmas,
                            uint64_t ts, int32_t status = 0, uint16_t reason = VT_SNAP_SYSCALL) {
  std::vector<Event> out = snapshot_events(pid, ts, mm, lo, hi, vmas, reason);
  out.back().status = status;
  return out;
}

TraceMeta meta() {
  TraceMeta m;
  m.clock_monotonic_ns = kT0;
  m.kernel_release = "6.18.0";
  return m;
}

std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }

TEST(Uncertainty, AFailedSnapshotMarksItsProcessUntilAWholeSnapshot) {
  Model m(meta());
  feed(&m, snapshot(7, 0x1000, 0, ~0ULL, {anon_vma(kA, 4)}, kT0, 0, VT_SNAP_SEED));
  EXPECT_EQ(m.maps_text(7).rfind("#", 0), std::string::npos) << "certain: no warning";
  feed(&m, snapshot(7, 0x1000, kA, kA + 8 * kPg, {}, kT0 + 2 * kS, -16));  // mmap_lock busy
  EXPECT_EQ(first_line(m.maps_text(7)),
            "# vmatrace: UNCERTAIN from 2.000000 s (a snapshot failed: -EBUSY): these lines may differ from the "
            "kernel's");
  EXPECT_NE(m.maps_text(7).find("10000000-10004000 rw-p"), std::string::npos) << "the lines are still shown";
  // A snapshot of part of the space does not vouch for the rest.
  feed(&m, snapshot(7, 0x1000, kA, kA + 4 * kPg - 1, {anon_vma(kA, 4)}, kT0 + 3 * kS));
  EXPECT_EQ(m.maps_text(7).rfind("# vmatrace: UNCERTAIN", 0), 0u);
  // The recorder's resync from /proc: the whole set again.
  feed(&m, snapshot(7, 0x1000, 0, ~0ULL, {anon_vma(kA, 2)}, kT0 + 5 * kS, 0, kSnapResync));
  EXPECT_EQ(m.maps_text(7), "10000000-10002000 rw-p 00000000 00:00 0 \n");
  ASSERT_EQ(m.uncertainties().size(), 1u);
  const Uncertainty& u = m.uncertainties()[0];
  EXPECT_EQ(u.pid, 7u);
  EXPECT_EQ(u.from_ns, 2 * kS);
  EXPECT_EQ(u.to_ns, 5 * kS);
}

TEST(Uncertainty, ASnapshotShortOfVmaRecords) {
  Model m(meta());
  feed(&m, snapshot(7, 0x1000, 0, ~0ULL, {anon_vma(kA, 4)}, kT0, 0, VT_SNAP_SEED));
  auto short_one = snapshot(7, 0x1000, kA, kA + 8 * kPg, {anon_vma(kA, 1), anon_vma(kA + 2 * kPg, 1)}, kT0 + kS);
  short_one.erase(short_one.begin());  // the ring buffer had no room for it
  feed(&m, short_one);
  ASSERT_EQ(m.uncertainties().size(), 1u);
  EXPECT_EQ(m.uncertainties()[0].reason, "a snapshot lost 1 of its 2 VMA records");
  EXPECT_EQ(m.stats().snapshots_failed, 1u);
}

// A snapshot whose closing record was lost leaves its VMA records behind:
// the next snapshot of the same thread takes only its own (the last ones).
TEST(Uncertainty, RecordsOfALostSnapshotDoNotFailTheNext) {
  Model m(meta());
  feed(&m, snapshot(7, 0x1000, 0, ~0ULL, {anon_vma(kA, 4)}, kT0, 0, VT_SNAP_SEED));
  auto lost = snapshot(7, 0x1000, kA, kA + 4 * kPg, {anon_vma(kA, 1), anon_vma(kA + kPg, 3)}, kT0 + kS);
  lost.pop_back();  // its closing record
  feed(&m, lost);
  feed(&m, snapshot(7, 0x1000, kA, kA + 4 * kPg, {anon_vma(kA, 2), anon_vma(kA + 2 * kPg, 2)}, kT0 + 2 * kS));
  EXPECT_EQ(m.stats().snapshots_failed, 0u);
  EXPECT_EQ(m.stats().orphan_vma_records, 2u);
  EXPECT_EQ(m.maps_text(7),
            "10000000-10002000 rw-p 00000000 00:00 0 \n"
            "10002000-10004000 rw-p 00000000 00:00 0 \n");
}

// The lost counters do not say whose events were lost: every process alive
// since the previous Stats record is marked from that record's time.
TEST(Uncertainty, LostSnapshotsMarkEveryLiveProcessFromThePreviousStatsRecord) {
  Model m(meta());
  for (uint32_t pid : {7u, 8u, 9u})
    feed(&m, snapshot(pid, 0x1000 * pid, 0, ~0ULL, {anon_vma(kA, 4)}, kT0, 0, VT_SNAP_SEED));
  m.apply(exit_event(9, kT0 + kS / 2));
  std::vector<uint64_t> lost(VT_LOST_MAX, 0);
  m.apply(stats_event(kT0 + kS, lost));
  lost[VT_LOST_RINGBUF_FAULT] = 1000;  // faults: the VMA set is not affected
  lost[VT_LOST_RINGBUF_SYSCALL] = 5;   // with kernel snapshots, neither: the snapshot came first
  m.apply(stats_event(kT0 + 2 * kS, lost));
  EXPECT_TRUE(m.uncertainties().empty());
  lost[VT_LOST_RINGBUF_SNAPSHOT] = 2;
  m.apply(stats_event(kT0 + 3 * kS, lost));
  ASSERT_EQ(m.uncertainties().size(), 2u);
  for (size_t i = 0; i < 2; i++) {
    EXPECT_EQ(m.uncertainties()[i].pid, 7u + i);
    EXPECT_EQ(m.uncertainties()[i].from_ns, 2 * kS);
    EXPECT_FALSE(m.uncertainties()[i].to_ns);
    EXPECT_EQ(m.uncertainties()[i].reason, "events lost: 2 snapshot (ring buffer full)");
  }
  EXPECT_EQ(m.maps_text(9).rfind("#", 0), std::string::npos) << "exited before the loss";
  // The end record carries the same totals: nothing new.
  m.apply(stats_event(0, lost, true));
  EXPECT_EQ(m.uncertainties().size(), 2u);
}

// With the mmap_lock hook, a call whose return was not caught was never
// snapshotted: its process may hold VMAs the model does not know.
TEST(Uncertainty, AnUncaughtSyscallReturnMarksTheProcess) {
  Model m(meta());
  feed(&m, snapshot(7, 0x1000, 0, ~0ULL, {anon_vma(kA, 4)}, kT0, 0, VT_SNAP_SEED));
  std::vector<uint64_t> lost(VT_LOST_MAX, 0);
  m.apply(stats_event(kT0 + kS, lost));
  lost[VT_LOST_SYSCALL_RETURN] = 1;
  m.apply(stats_event(kT0 + 2 * kS, lost));
  ASSERT_EQ(m.uncertainties().size(), 1u);
  EXPECT_EQ(m.uncertainties()[0].from_ns, kS);
  EXPECT_EQ(m.uncertainties()[0].reason, "events lost: 1 syscall (return not caught: --mmap-lock-hook)");
}

// A loss the counters tell of later may have come before a mark made
// meanwhile: that mark then starts at the previous Stats record; a process
// made whole again meanwhile is marked afresh.
TEST(Uncertainty, ALossToldOfLaterMovesMarksMadeMeanwhileBack) {
  Model m(meta());
  feed(&m, snapshot(7, 0x1000, 0, ~0ULL, {anon_vma(kA, 4)}, kT0, 0, VT_SNAP_SEED));
  feed(&m, snapshot(8, 0x2000, 0, ~0ULL, {anon_vma(kA, 4)}, kT0, 0, VT_SNAP_SEED));
  std::vector<uint64_t> lost(VT_LOST_MAX, 0);
  m.apply(stats_event(kT0 + kS, lost));
  feed(&m, snapshot(7, 0x1000, kA, kA, {}, kT0 + kS + kS / 2, -16));
  feed(&m, snapshot(8, 0x2000, kA, kA, {}, kT0 + kS + kS / 5, -16));
  feed(&m, snapshot(8, 0x2000, 0, ~0ULL, {anon_vma(kA, 4)}, kT0 + kS + kS / 4, 0, kSnapResync));
  lost[VT_LOST_SYSCALL_MAP_FULL] = 1;
  m.apply(stats_event(kT0 + 2 * kS, lost));
  const auto& u = m.uncertainties();
  ASSERT_EQ(u.size(), 3u);
  EXPECT_EQ(u[0].pid, 7u);
  EXPECT_EQ(u[0].from_ns, kS) << "moved back to the previous Stats record";
  EXPECT_EQ(u[0].reason, "a snapshot failed: -EBUSY");
  EXPECT_EQ(u[1].pid, 8u);
  EXPECT_EQ(u[1].to_ns, kS + kS / 4) << "resynced";
  EXPECT_EQ(u[2].pid, 8u);
  EXPECT_EQ(u[2].from_ns, kS);
  EXPECT_EQ(u[2].reason, "events lost: 1 syscall (in-flight map full)");
}

// Without kernel snapshots the model predicts from syscalls: a lost syscall
// leaves it wrong.
TEST(Uncertainty, LostSyscallsMatterWhenPredicting) {
  TraceMeta mt = meta();
  mt.kernel_snapshots = false;
  mt.target_pid = 7;
  mt.maps_at_attach = "10000000-10004000 rw-p 00000000 00:00 0 \n";
  Model m(mt);
  std::vector<uint64_t> lost(VT_LOST_MAX, 0);
  lost[VT_LOST_RINGBUF_SYSCALL] = 1;
  m.apply(stats_event(kT0 + kS, lost));
  ASSERT_EQ(m.uncertainties().size(), 1u);
  EXPECT_EQ(m.uncertainties()[0].from_ns, 0u) << "no Stats record before: from the start";
  EXPECT_EQ(m.uncertainties()[0].reason, "events lost: 1 syscall (ring buffer full)");
}

// Through a trace file and report --json's "model" object.
class UncertaintyTraceTest : public TempTraceTest {};

TEST_F(UncertaintyTraceTest, ReportJsonListsTheUncertainStretches) {
  auto w = TraceWriter::create(path_);
  ASSERT_TRUE(w);
  TraceMeta mt = meta();
  mt.target_pid = 7;
  ASSERT_TRUE((*w)->write_header(mt));
  std::vector<Event> events = snapshot(7, 0x1000, 0, ~0ULL, {anon_vma(kA, 4)}, kT0, 0, VT_SNAP_SEED);
  for (const Event& e : snapshot(7, 0x1000, kA, kA + kPg, {}, kT0 + kS, -28)) events.push_back(e);
  for (const Event& e : snapshot(7, 0x1000, 0, ~0ULL, {anon_vma(kA, 4)}, kT0 + 2 * kS, 0, kSnapResync))
    events.push_back(e);
  std::vector<uint64_t> lost(VT_LOST_MAX, 0);
  events.push_back(stats_event(kT0 + 3 * kS, lost));
  lost[VT_LOST_RINGBUF_SNAPSHOT] = 1;
  events.push_back(stats_event(kT0 + 4 * kS, lost));
  for (const Event& e : events) ASSERT_TRUE((*w)->append(e));
  LostCounts end;
  end.by_reason = lost;
  ASSERT_TRUE((*w)->finish(end));

  auto pass = read_trace(path_, ReportWants{AnalysisOptions{}});
  ASSERT_TRUE(pass) << pass.error();
  const ReportPass* p = pass->get();
  const Analysis* a = &p->analysis;
  JsonOutput out;
  out.model_stats(a->model->stats());
  auto j = out.json()["model"];
  ASSERT_EQ(j["uncertain"].size(), 2u) << j.dump();
  EXPECT_EQ(j["uncertain"][0]["pid"], 7);
  EXPECT_EQ(j["uncertain"][0]["from_s"], 1.0);
  EXPECT_EQ(j["uncertain"][0]["to_s"], 2.0);
  EXPECT_EQ(j["uncertain"][0]["reason"], "a snapshot failed: -ENOSPC");
  EXPECT_EQ(j["uncertain"][1]["from_s"], 3.0);
  EXPECT_TRUE(j["uncertain"][1]["to_s"].is_null());
  EXPECT_EQ(first_line(a->model->maps_text(7)),
            "# vmatrace: UNCERTAIN from 3.000000 s (events lost: 1 snapshot (ring buffer full)): these lines may "
            "differ from the kernel's");
}

}  // namespace
}  // namespace vmatrace
