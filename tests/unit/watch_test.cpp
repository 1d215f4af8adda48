// The watch's pure logic: /proc/PID/stat parsing, the fault ledger (polls
// and exit records), the storm trigger and its warning level, arming flight
// recorders before a storm, bounded series, the capture directory's bounds,
// the event log's lines, the latency histogram.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <string>

#include <prometheus/text_serializer.h>

#include "util/escape.h"
#include "watch/arming.h"
#include "watch/capture_dir.h"
#include "watch/event_log.h"
#include "watch/fault_ledger.h"
#include "watch/labels.h"
#include "watch/latency_metrics.h"
#include "watch/proc_scan.h"
#include "watch/series_table.h"
#include "watch/storm_trigger.h"

namespace vmatrace {
namespace {

constexpr uint64_t kSec = 1000000000ULL;
constexpr uint64_t kInterval = kSec / 4;

std::string stat_line(const std::string& comm, uint64_t minflt, uint64_t majflt, uint64_t start, unsigned flags = 0) {
  // pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime
  // cutime cstime priority nice threads itrealvalue starttime vsize ...
  return "42 (" + comm + ") S 1 42 42 0 -1 " + std::to_string(flags) + " " + std::to_string(minflt) + " 7 " +
         std::to_string(majflt) + " 9 10 11 12 13 20 0 1 0 " + std::to_string(start) + " 123456 78 18446744073709551615\n";
}

TEST(WatchProcStat, ParsesCountersAndStartOfAnyComm) {
  auto s = parse_proc_stat(42, stat_line("a) b (c", 1000, 3, 777));
  ASSERT_TRUE(s);
  EXPECT_EQ(s->comm, "a) b (c");
  EXPECT_EQ(s->min_flt, 1000u);
  EXPECT_EQ(s->maj_flt, 3u);
  EXPECT_EQ(s->start_ticks, 777u);
  EXPECT_FALSE(s->kernel_thread);
  EXPECT_TRUE(parse_proc_stat(2, stat_line("kthreadd", 0, 0, 0, 0x00208040))->kernel_thread);
  EXPECT_FALSE(parse_proc_stat(42, "42 (cut"));
  EXPECT_FALSE(parse_proc_stat(42, "42 (x) S 1 2"));
  EXPECT_FALSE(parse_proc_stat(42, ""));
}

TEST(WatchProcStat, ScanFindsThisProcessWithItsCounters) {
  std::vector<ProcSample> all;
  scan_processes(&all);
  bool found = false;
  for (const auto& s : all)
    if (s.pid == getpid()) found = s.min_flt > 0 && !s.kernel_thread;
  EXPECT_TRUE(found);
  EXPECT_LE(all.front().start_ticks, boot_ticks_now());
}

TEST(WatchLabels, KernelBytesCannotForgeLinesLabelsOrPaths) {
  EXPECT_EQ(printable("ok name-1"), "ok name-1");
  EXPECT_EQ(printable(std::string("a\nb\\c\"\xff", 7)), "a\\x0ab\\x5cc\"\\xff");
  EXPECT_EQ(file_name_part("../x y"), "_.._x_y");
  EXPECT_EQ(file_name_part(""), "_");
  EXPECT_EQ(file_name_part(".hidden"), "_.hidden");
}

struct WatchLedger : ::testing::Test {
  std::map<pid_t, std::string> cgroups{{10, "/a"}, {11, "/b"}, {12, "/c"}};
  FaultLedger ledger{1000, kInterval, AnalysisOptions{},
                     {[this](pid_t pid) -> std::optional<std::string> {
                        auto it = cgroups.find(pid);
                        if (it == cgroups.end()) return std::nullopt;
                        return it->second;
                      },
                      [](uint64_t id) { return "/id" + std::to_string(id); }}};
  std::vector<FaultShare> faults;
  std::vector<StormStart> storms;

  ProcSample sample(pid_t pid, const std::string& comm, uint64_t min, uint64_t maj, uint64_t start) {
    return *parse_proc_stat(pid, stat_line(comm, min, maj, start));
  }
  void poll(std::vector<ProcSample> s, uint64_t now) {
    faults.clear();
    storms.clear();
    ledger.poll(s, now, &faults, &storms);
  }
  void exited(pid_t pid, const std::string& comm, uint64_t min, uint64_t maj, uint64_t start, uint64_t cg = 5) {
    faults.clear();
    ledger.exited({pid, start, comm, cg, min, maj}, &faults);
  }
  uint64_t minor_total() const {
    uint64_t n = 0;
    for (auto& f : faults) n += f.minor;
    return n;
  }
};

TEST_F(WatchLedger, OlderProcessesCountFromTheirFirstPollNewerFromTheirStart) {
  poll({sample(10, "old", 500, 2, 999), sample(11, "new", 40, 0, 1000)}, kSec);
  ASSERT_EQ(faults.size(), 1u);
  EXPECT_EQ(faults[0].comm, "new");
  EXPECT_EQ(faults[0].cgroup, "/b");
  EXPECT_EQ(faults[0].minor, 40u);
  poll({sample(10, "old", 530, 3, 999), sample(11, "new", 45, 0, 1000)}, 2 * kSec);
  ASSERT_EQ(faults.size(), 2u);
  EXPECT_EQ(faults[0].minor + faults[1].minor, 35u);
  EXPECT_EQ(faults[0].major + faults[1].major, 1u);
  EXPECT_EQ(ledger.tracked(), 2u);
}

TEST_F(WatchLedger, AnExitAddsWhatCameAfterTheLastPollAndForgetsTheProcess) {
  poll({sample(10, "p", 100, 0, 1500)}, kSec);
  exited(10, "p", 180, 1, 1500);
  ASSERT_EQ(faults.size(), 1u);
  EXPECT_EQ(faults[0].minor, 80u);
  EXPECT_EQ(faults[0].major, 1u);
  EXPECT_EQ(faults[0].cgroup, "/a") << "the cgroup it was seen in";
  EXPECT_EQ(ledger.tracked(), 0u);
  poll({}, 2 * kSec);
  EXPECT_TRUE(faults.empty());
  EXPECT_EQ(ledger.exits_missed(), 0u);
}

TEST_F(WatchLedger, BornAndGoneBetweenPollsCountsWholeUnlessItPredatesTheWatch) {
  exited(77, "short", 30, 0, 1200, 9);
  ASSERT_EQ(faults.size(), 1u);
  EXPECT_EQ(faults[0].minor, 30u);
  EXPECT_EQ(faults[0].cgroup, "/id9");
  exited(78, "ancient", 30, 0, 900);
  EXPECT_TRUE(faults.empty());
}

TEST_F(WatchLedger, ReusedPidIsAnotherProcess) {
  poll({sample(10, "first", 100, 0, 1100)}, kSec);
  // pid 10 again, started later: counted from its start, the first one's
  // record still to come.
  poll({sample(10, "second", 20, 0, 1300)}, 2 * kSec);
  EXPECT_EQ(minor_total(), 20u);
  exited(10, "first", 150, 0, 1100);
  EXPECT_EQ(minor_total(), 50u);
  EXPECT_EQ(ledger.tracked(), 1u);
}

TEST_F(WatchLedger, CountersNeverGoBack) {
  poll({sample(10, "p", 100, 0, 1100)}, kSec);
  poll({sample(10, "p", 60, 0, 1100)}, 2 * kSec);  // read while being released: leader's own counts
  EXPECT_TRUE(faults.empty());
  exited(10, "p", 120, 0, 1100);
  EXPECT_EQ(minor_total(), 20u);
}

TEST_F(WatchLedger, AProcessGoneWithoutRecordIsMissedAfterTheGrace) {
  poll({sample(10, "p", 100, 0, 1100)}, kSec);
  poll({}, kSec + FaultLedger::kExitGraceNs - 1);
  EXPECT_EQ(ledger.tracked(), 1u) << "its record may still be on its way";
  poll({}, kSec + FaultLedger::kExitGraceNs);
  EXPECT_EQ(ledger.tracked(), 0u);
  EXPECT_EQ(ledger.exits_missed(), 1u);
}

TEST_F(WatchLedger, GoneBeforeItsCgroupIsReadIsLeftToItsRecord) {
  poll({sample(55, "flash", 10, 0, 1100)}, kSec);  // no cgroup for 55: gone
  EXPECT_TRUE(faults.empty());
  EXPECT_EQ(ledger.tracked(), 0u);
  exited(55, "flash", 12, 0, 1100, 3);
  EXPECT_EQ(minor_total(), 12u);
}

TEST_F(WatchLedger, ExecRenamesAndRereadsTheCgroup) {
  poll({sample(10, "sh", 50, 0, 1100)}, kSec);
  cgroups[10] = "/moved";
  poll({sample(10, "server", 90, 0, 1100)}, 2 * kSec);
  ASSERT_EQ(faults.size(), 1u);
  EXPECT_EQ(faults[0].comm, "server");
  EXPECT_EQ(faults[0].cgroup, "/moved");
}

TEST_F(WatchLedger, AStormAfterAQuietBaselineIsReportedOnce) {
  uint64_t t = kSec, n = 0;
  auto step = [&](uint64_t faults_in_interval) {
    n += faults_in_interval;
    poll({sample(10, "stormer", n, 0, 1100)}, t += kInterval);
    return storms.size();
  };
  step(0);
  for (int i = 0; i < 20; i++) EXPECT_EQ(step(3), 0u);
  EXPECT_EQ(step(50000), 1u);
  EXPECT_EQ(storms[0].pid, 10);
  EXPECT_EQ(storms[0].comm, "stormer");
  EXPECT_DOUBLE_EQ(storms[0].rate, 200000);
  EXPECT_EQ(step(60000), 0u) << "the same storm";
}

TEST(WatchStormTrigger, SameRuleAsReportWithItsMergeGap) {
  StormTrigger t;
  AnalysisOptions rule;
  double rate = 0;
  for (int i = 0; i < 30; i++) EXPECT_FALSE(t.add(5, kInterval, rule, &rate));
  EXPECT_TRUE(t.add(4000, kInterval, rule, &rate));
  EXPECT_DOUBLE_EQ(rate, 16000);
  // A dip of up to 10 bins (the rule's merge gap) is the same storm.
  for (int i = 0; i < 5; i++) EXPECT_FALSE(t.add(5, kInterval, rule, &rate));
  EXPECT_FALSE(t.add(4000, kInterval, rule, &rate));
  for (int i = 0; i < 12; i++) EXPECT_FALSE(t.add(5, kInterval, rule, &rate));
  EXPECT_TRUE(t.add(4000, kInterval, rule, &rate)) << "after a longer quiet: a new storm";
  // Below the rule's 2,000 faults/s floor, however far above the baseline.
  StormTrigger low;
  for (int i = 0; i < 30; i++) low.add(1, kInterval, rule, &rate);
  EXPECT_FALSE(low.add(400, kInterval, rule, &rate));
  // A threshold above the storm's ratio finds none.
  StormTrigger strict;
  AnalysisOptions high;
  high.storm_threshold = 1000;
  for (int i = 0; i < 30; i++) strict.add(5, kInterval, high, &rate);
  EXPECT_FALSE(strict.add(4000, kInterval, high, &rate));
}

TEST(WatchStormTrigger, AProcessThatAlwaysStormsHasNoStorm) {
  StormTrigger t;
  double rate = 0;
  for (int i = 0; i < 50; i++) EXPECT_FALSE(t.add(100000, kInterval, AnalysisOptions{}, &rate)) << i;
}

// The warning level: a fraction of the storm rule (threshold, floor rate,
// fault count) and at least twice the baseline. Calm: 12 faults a bin (48/s).
TEST(WatchStormTrigger, WarmAboveAFractionOfTheRuleBelowTheStorm) {
  AnalysisOptions rule;
  double rate = 0;
  auto calm = [&](StormTrigger& t) {
    for (int i = 0; i < 40; i++) {
      t.add(12, kInterval, rule, &rate);
      EXPECT_FALSE(t.warm(kInterval, rule, 0.25)) << i;
    }
  };
  StormTrigger t;
  calm(t);
  // 1,200/s: above a quarter of the rule (max(10 x 48, 2,000)/s), below the storm.
  for (int i = 0; i < 4; i++) {
    EXPECT_FALSE(t.add(300, kInterval, rule, &rate));
    EXPECT_TRUE(t.warm(kInterval, rule, 0.25)) << i;
  }
  t.add(12, kInterval, rule, &rate);
  EXPECT_FALSE(t.warm(kInterval, rule, 0.25)) << "calm again";
  EXPECT_TRUE(t.add(3000, kInterval, rule, &rate));
  EXPECT_TRUE(t.warm(kInterval, rule, 0.25)) << "a storm is above its warning level too";
  EXPECT_FALSE(t.warm(kInterval, rule, 0)) << "no warning level";

  // 400/s: warm at a tenth of the rule (200/s, 100 faults), not at a quarter (500/s).
  StormTrigger slow;
  calm(slow);
  slow.add(100, kInterval, rule, &rate);
  EXPECT_TRUE(slow.warm(kInterval, rule, 0.1));
  EXPECT_FALSE(slow.warm(kInterval, rule, 0.25));
  // The warning's share of the rule's 1,000 faults: one bin of 240 is not enough at a quarter.
  StormTrigger brief;
  calm(brief);
  brief.add(240, kInterval, rule, &rate);
  EXPECT_FALSE(brief.warm(kInterval, rule, 0.25));
  brief.add(240, kInterval, rule, &rate);
  EXPECT_TRUE(brief.warm(kInterval, rule, 0.25)) << "480 faults in the spell";
}

TEST(WatchStormTrigger, AProcessAlwaysAtOneRateIsNeverWarm) {
  AnalysisOptions rule;
  StormTrigger t;
  double rate = 0;
  for (int i = 0; i < 130; i++) {
    t.add(300, kInterval, rule, &rate);
    // Twice the baseline at least, even where a tenth of the threshold (1x) would take it.
    EXPECT_FALSE(t.warm(kInterval, rule, 0.1)) << i;
  }
}

TEST_F(WatchLedger, WarmProcessesAreListedWithTheirRateOnlyWithAWarningLevel) {
  FaultLedger warned{1000, kInterval, AnalysisOptions{}, {[](pid_t) { return std::optional<std::string>("/w"); },
                                                          [](uint64_t) { return std::string("/id"); }},
                     0.25};
  std::vector<WarmProcess> warm;
  uint64_t t = kSec, n = 0;
  auto step = [&](FaultLedger& l, uint64_t faults_in_interval, std::vector<WarmProcess>* out) {
    n += faults_in_interval;
    faults.clear();
    storms.clear();
    if (out) out->clear();
    l.poll({sample(10, "ramp", n, 0, 1100)}, t += kInterval, &faults, &storms, out);
  };
  step(warned, 0, &warm);
  for (int i = 0; i < 20; i++) {
    step(warned, 12, &warm);
    EXPECT_TRUE(warm.empty()) << i;
  }
  step(warned, 300, &warm);
  ASSERT_EQ(warm.size(), 1u);
  EXPECT_EQ(warm[0].pid, 10);
  EXPECT_EQ(warm[0].start_ticks, 1100u);
  EXPECT_EQ(warm[0].comm, "ramp");
  EXPECT_DOUBLE_EQ(warm[0].rate, 1200);
  EXPECT_TRUE(storms.empty());

  // Without a warning level (the fixture's ledger) nothing is warm.
  n = 0;
  step(ledger, 0, &warm);
  for (int i = 0; i < 20; i++) step(ledger, 12, &warm);
  step(ledger, 300, &warm);
  EXPECT_TRUE(warm.empty());
}

WarmProcess warm_process(pid_t pid, double rate) { return {pid, 1000u + static_cast<uint64_t>(pid), "w", rate}; }
ProcKey key_of(pid_t pid) { return {pid, 1000u + static_cast<uint64_t>(pid)}; }
const auto kAnyMayArm = [](const WarmProcess&) { return true; };

std::vector<pid_t> pids(const std::vector<WarmProcess>& v) {
  std::vector<pid_t> out;
  for (const auto& w : v) out.push_back(w.pid);
  return out;
}

TEST(WatchArming, TheBusiestWarmProcessesAreArmedUpToTheLimit) {
  ArmedSet armed(2, kSec);
  auto plan = armed.poll({warm_process(1, 100), warm_process(2, 300), warm_process(3, 200)}, 0, kAnyMayArm);
  EXPECT_EQ(pids(plan.arm), (std::vector<pid_t>{2, 3}));
  EXPECT_TRUE(plan.disarm.empty());
  for (const auto& w : plan.arm) armed.add({w.pid, w.start_ticks}, w.rate, 0);
  EXPECT_EQ(armed.size(), 2u);
  EXPECT_TRUE(armed.contains(key_of(2)));
  EXPECT_FALSE(armed.contains(key_of(1)));
  EXPECT_FALSE(armed.contains({2, 999})) << "the same pid, another process";

  // Still warm, at about the same rates: nothing changes (no recorder churn).
  plan = armed.poll({warm_process(1, 390), warm_process(2, 300), warm_process(3, 200)}, kSec / 4, kAnyMayArm);
  EXPECT_TRUE(plan.arm.empty());
  EXPECT_TRUE(plan.disarm.empty());
  // More than twice the lowest armed one's rate: it takes that one's place.
  plan = armed.poll({warm_process(1, 450), warm_process(2, 300), warm_process(3, 200)}, kSec / 2, kAnyMayArm);
  EXPECT_EQ(pids(plan.arm), (std::vector<pid_t>{1}));
  ASSERT_EQ(plan.disarm.size(), 1u);
  EXPECT_EQ(plan.disarm[0].first, key_of(3));
  EXPECT_STREQ(plan.disarm[0].second, "displaced");
  EXPECT_FALSE(armed.contains(key_of(3)));
}

TEST(WatchArming, AnArmedProcessCalmForAWhileIsDisarmed) {
  ArmedSet armed(2, kSec);
  armed.add(key_of(1), 500, 0);
  armed.add(key_of(2), 500, 0);
  EXPECT_TRUE(armed.poll({}, kSec / 2, kAnyMayArm).disarm.empty());
  EXPECT_TRUE(armed.poll({warm_process(2, 400)}, kSec * 3 / 4, kAnyMayArm).disarm.empty()) << "2 is warm again";
  auto plan = armed.poll({}, kSec, kAnyMayArm);
  ASSERT_EQ(plan.disarm.size(), 1u);
  EXPECT_EQ(plan.disarm[0].first, key_of(1));
  EXPECT_STREQ(plan.disarm[0].second, "calm");
  EXPECT_TRUE(armed.contains(key_of(2)));
  plan = armed.poll({}, kSec * 7 / 4, kAnyMayArm);
  ASSERT_EQ(plan.disarm.size(), 1u);
  EXPECT_EQ(plan.disarm[0].first, key_of(2));
  EXPECT_EQ(armed.size(), 0u);
}

TEST(WatchArming, ACalmArmedProcessGivesWayAndOnlyThoseAllowedAreArmed) {
  ArmedSet armed(1, 10 * kSec);
  armed.add(key_of(1), 5000, 0);
  // 1 is below the warning level in this poll (rate 0): any warm process is busier.
  // 2 may not be armed (its comm, its cooldown, a capture of it running): 3 is.
  auto plan = armed.poll({warm_process(2, 900), warm_process(3, 300)}, kSec,
                         [](const WarmProcess& w) { return w.pid != 2; });
  EXPECT_EQ(pids(plan.arm), (std::vector<pid_t>{3}));
  ASSERT_EQ(plan.disarm.size(), 1u);
  EXPECT_EQ(plan.disarm[0].first, key_of(1));
  EXPECT_STREQ(plan.disarm[0].second, "displaced");
  // A recorder that did not start is never added; one whose process ended is removed.
  armed.add(key_of(3), 300, kSec);
  armed.remove(key_of(3));
  EXPECT_EQ(armed.size(), 0u);
}

using Action = ArmedClock::Action;

TEST(WatchArmedClock, AFiredRecorderIsSignalledThenStoppedAfterTheCaptureSeconds) {
  ArmedClock c(3 * kSec, 2 * kSec);
  EXPECT_EQ(c.tick(kSec / 2), Action::None);
  c.output_seen(kSec);  // recording since about 0
  EXPECT_TRUE(c.recording());
  for (uint64_t t = kSec; t < 10 * kSec; t += kSec / 4) EXPECT_EQ(c.tick(t), Action::None) << "not fired: no signal";
  EXPECT_DOUBLE_EQ(c.fire(10 * kSec), 3.0) << "it has recorded longer than the 3 s asked";
  EXPECT_TRUE(c.fired());
  EXPECT_EQ(c.tick(10 * kSec), Action::Fire);
  EXPECT_EQ(c.tick(10 * kSec), Action::None) << "the stop never comes with the SIGUSR1";
  EXPECT_EQ(c.tick(12 * kSec - 1), Action::None);
  EXPECT_EQ(c.tick(12 * kSec), Action::Stop);
  EXPECT_EQ(c.tick(13 * kSec), Action::None);
  EXPECT_DOUBLE_EQ(c.fire(14 * kSec), 0) << "fired once";
}

TEST(WatchArmedClock, BeforeIsWhatItRecordedAndAStormBeforeItRecordsWaitsForIt) {
  ArmedClock young(3 * kSec, 2 * kSec);
  young.output_seen(2 * kSec);  // recording since 1 s
  EXPECT_DOUBLE_EQ(young.fire(kSec * 5 / 2), 1.5);

  // Fired before its first output: no SIGUSR1 yet (it may have no handler);
  // its seconds after the storm count from when it records.
  ArmedClock late(3 * kSec, 2 * kSec);
  EXPECT_DOUBLE_EQ(late.fire(kSec), 0);
  EXPECT_EQ(late.tick(2 * kSec), Action::None);
  late.output_seen(4 * kSec);
  EXPECT_EQ(late.tick(4 * kSec), Action::Fire);
  EXPECT_EQ(late.tick(6 * kSec - 1), Action::None);
  EXPECT_EQ(late.tick(6 * kSec), Action::Stop);
}

TEST(WatchSeriesTable, BusiestPairsGetSeriesTheRestFoldIntoOther) {
  SeriesTable t(2, 10);
  std::vector<SeriesIncrement> inc;
  std::vector<SeriesKey> removed;
  t.add({"a", "/"}, 10, 0);
  t.add({"b", "/"}, 300, 1);
  t.add({"c", "/"}, 200, 0);
  t.add({"a", "/"}, 5, 0);
  t.end_interval(&inc, &removed);
  ASSERT_EQ(inc.size(), 3u);
  EXPECT_EQ(inc[0].key.comm, "b");
  EXPECT_EQ(inc[1].key.comm, "c");
  EXPECT_EQ(inc[2].key.comm, "other");
  EXPECT_EQ(inc[2].minor, 15u);
  EXPECT_TRUE(removed.empty());
  EXPECT_EQ(t.shown_as({"a", "/"}).comm, "other");
  EXPECT_EQ(t.shown_as({"b", "/"}).comm, "b");

  // "a" stays folded while b and c are active; a series idle long enough gives way.
  for (int i = 0; i < 10; i++) {
    inc.clear();
    t.add({"b", "/"}, 1, 0);
    t.add({"a", "/"}, 1000, 0);
    t.end_interval(&inc, &removed);
    EXPECT_EQ(t.shown_as({"a", "/"}).comm, i < 9 ? "other" : "a") << i;
  }
  ASSERT_EQ(removed.size(), 1u);
  EXPECT_EQ(removed[0].comm, "c");
  EXPECT_EQ(t.size(), 2u);
}

struct WatchCaptureDir : ::testing::Test {
  std::string dir;
  void SetUp() override {
    char tmpl[] = "/tmp/vmatrace-watch-unit-XXXXXX";
    dir = mkdtemp(tmpl);
  }
  void TearDown() override { (void)!system(("rm -rf '" + dir + "'").c_str()); }
  void make(const std::string& name, size_t bytes) {
    std::ofstream(dir + "/" + name) << std::string(bytes, 'x');
  }
  bool exists(const std::string& name) {
    struct stat st;
    return lstat((dir + "/" + name).c_str(), &st) == 0;
  }
};

TEST_F(WatchCaptureDir, CaptureDirRemovesItsOldestFirstAndNothingElse) {
  make("20250101T000000.000Z-a-1.vmt", 100);
  make("20250101T000001.000Z-b-2.vmt", 100);
  make("20250101T000002.000Z-c-3.vmt", 100);
  make("notes.txt", 5000);
  make("20250101T000000.000Z-a-1.vmt.tmp-abcdef", 10);
  ASSERT_EQ(symlink("/etc/passwd", (dir + "/20240101T000000.000Z-x-9.vmt").c_str()), 0);
  auto d = CaptureDir::open(dir, 2, 1000);
  ASSERT_TRUE(d) << d.error();
  auto removed = d->prune();
  ASSERT_EQ(removed.size(), 1u);
  EXPECT_EQ(removed[0], "20250101T000000.000Z-a-1.vmt");
  EXPECT_TRUE(exists("notes.txt"));
  EXPECT_TRUE(exists("20240101T000000.000Z-x-9.vmt")) << "a symlink is never ours";
  EXPECT_TRUE(exists("20250101T000000.000Z-a-1.vmt.tmp-abcdef"));
  // Room for one more: the oldest goes now.
  EXPECT_EQ(d->prune(1), std::vector<std::string>{"20250101T000001.000Z-b-2.vmt"});

  auto by_bytes = CaptureDir::open(dir, 100, 150);
  make("20250101T000003.000Z-d-4.vmt", 100);
  EXPECT_EQ(by_bytes->prune(), std::vector<std::string>{"20250101T000002.000Z-c-3.vmt"});
  EXPECT_TRUE(exists("20250101T000003.000Z-d-4.vmt"));
}

TEST_F(WatchCaptureDir, CaptureNamesSortByTimeAndAreSafe) {
  auto d = CaptureDir::open(dir + "/new", 2, 1000);
  ASSERT_TRUE(d) << d.error();
  struct stat st;
  ASSERT_EQ(stat((dir + "/new").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  timespec t{1735689600, 123456789};  // 2025-01-01T00:00:00.123Z
  std::string p = d->new_capture_path(t, "we/ird\n", 77);
  EXPECT_EQ(p, dir + "/new/20250101T000000.123Z-we_ird_-77.vmt");
  EXPECT_TRUE(CaptureDir::is_capture_name(p.substr(p.rfind('/') + 1)));
  EXPECT_FALSE(CaptureDir::is_capture_name("20250101T000000.123Z-x-77.vmt.tmp-abc"));
  chmod(dir.c_str(), 0777);
  auto open_dir = CaptureDir::open(dir, 2, 1000);
  ASSERT_FALSE(open_dir);
  EXPECT_NE(open_dir.error().find("writable by others"), std::string::npos);
  std::ofstream(dir + "/file") << "x";
  EXPECT_FALSE(CaptureDir::open(dir + "/file", 2, 1000));
}

TEST_F(WatchCaptureDir, EventLinesCarryAnyCommExactlyAndCannotForgeALine) {
  std::string path = dir + "/events.jsonl";
  auto log = EventLog::open(path);
  ASSERT_TRUE(log) << log.error();
  const std::string comm = std::string("a\"b\nc\\d\x01\xff\xc3(", 11);
  log->write("storm", {{"pid", 7}, {"comm", comm}, {"cgroup", "/x\ny"}});
  std::ifstream in(path);
  std::string line, extra;
  ASSERT_TRUE(std::getline(in, line));
  EXPECT_FALSE(std::getline(in, extra)) << "one line: " << extra;
  auto j = nlohmann::json::parse(line, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << line;
  EXPECT_EQ(j["event"], "storm");
  EXPECT_EQ(j["pid"], 7);
  EXPECT_EQ(json_bytes(j, "comm"), comm) << "the exact bytes, through comm_hex";
  EXPECT_TRUE(j.contains("comm_hex"));
  EXPECT_EQ(j["cgroup"], "/x\ny") << "valid UTF-8 as it is, escaped by JSON";
  EXPECT_FALSE(j.contains("cgroup_hex"));
}

vt_watch_latency latency_with(std::initializer_list<std::pair<int, uint64_t>> buckets, uint64_t sum_ns,
                              uint64_t unmatched) {
  vt_watch_latency h{};
  for (auto [b, n] : buckets) h.buckets[b] = n;
  h.sum_ns = sum_ns;
  h.unmatched = unmatched;
  return h;
}

TEST(WatchLatency, PerCpuHistogramsAddUp) {
  auto sum = sum_cpus({latency_with({{9, 2}, {12, 1}}, 5000, 1), latency_with({{9, 3}, {39, 1}}, 7000, 2)});
  EXPECT_EQ(sum.buckets[9], 5u);
  EXPECT_EQ(sum.buckets[12], 1u);
  EXPECT_EQ(sum.buckets[39], 1u);
  EXPECT_EQ(sum.sum_ns, 12000u);
  EXPECT_EQ(sum.unmatched, 3u);
}

TEST(WatchLatency, HistogramInSecondsWithCumulativeBucketsByType) {
  LatencyTotals t{};
  // 2 faults <= 64 ns, 3 in (256, 512] ns, 1 in (2^19, 2^20] ns, 1 beyond the last bound.
  t[VT_WATCH_FAULT_MINOR] = latency_with({{6, 2}, {9, 3}, {20, 1}, {39, 1}}, 1500000000, 4);
  t[VT_WATCH_FAULT_MAJOR] = latency_with({{25, 1}}, 30000000, 0);
  std::string text = prometheus::TextSerializer().Serialize(latency_families(t));
  for (const char* want : {
           "# TYPE vmatrace_page_fault_latency_seconds histogram",
           "vmatrace_page_fault_latency_seconds_count{type=\"minor\"} 7\n",
           "vmatrace_page_fault_latency_seconds_sum{type=\"minor\"} 1.5\n",
           "vmatrace_page_fault_latency_seconds_bucket{type=\"minor\",le=\"2.56e-07\"} 2\n",
           "vmatrace_page_fault_latency_seconds_bucket{type=\"minor\",le=\"5.12e-07\"} 5\n",
           "vmatrace_page_fault_latency_seconds_bucket{type=\"minor\",le=\"0.000524288\"} 5\n",
           "vmatrace_page_fault_latency_seconds_bucket{type=\"minor\",le=\"0.001048576\"} 6\n",
           "vmatrace_page_fault_latency_seconds_bucket{type=\"minor\",le=\"17.179869184\"} 6\n",
           "vmatrace_page_fault_latency_seconds_bucket{type=\"minor\",le=\"+Inf\"} 7\n",
           "vmatrace_page_fault_latency_seconds_count{type=\"major\"} 1\n",
           "vmatrace_page_fault_latency_seconds_bucket{type=\"major\",le=\"0.016777216\"} 0\n",
           "vmatrace_page_fault_latency_seconds_bucket{type=\"major\",le=\"0.033554432\"} 1\n",
           "vmatrace_page_faults_untimed_total{type=\"minor\"} 4\n",
           "vmatrace_page_faults_untimed_total{type=\"major\"} 0\n",
       })
    EXPECT_NE(text.find(want), std::string::npos) << want << " in\n" << text;
  EXPECT_EQ(text.find("le=\"1.28e-07\""), std::string::npos) << "no bound below 256 ns";
}

}  // namespace
}  // namespace vmatrace
