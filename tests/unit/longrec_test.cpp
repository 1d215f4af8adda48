// Long recordings: the size limit, rotation and the flight recorder's ring,
// on synthetic events (tests/e2e/longrec_test.cpp runs them on real ones).
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <cerrno>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "cli/numbers.h"
#include "events/abi.h"
#include "model/model.h"
#include "record/codec.h"
#include "record/file_start.h"
#include "record/flight_ring.h"
#include "record/trace_file.h"
#include "record/trace_files.h"
#include "record/trace_output.h"
#include "synthetic_events.h"

namespace vmatrace {
namespace {

constexpr uint64_t kPg = 4096, kPid = 7, kMm = 0x1000, kT0 = 1'000'000'000'000;

uint64_t file_size(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
}

bool exists(const std::string& path) {
  struct stat st;
  return lstat(path.c_str(), &st) == 0;
}

TraceMeta meta_at(uint64_t t0) {
  TraceMeta m;
  m.clock_monotonic_ns = t0;
  m.clock_realtime_ns = 5 * t0;
  m.target_pid = kPid;
  m.kernel_release = "6.18.0";
  return m;
}

// A process mapping and unmapping one VMA after another while it faults:
// events as the kernel sends them (a snapshot after every change).
class Workload {
 public:
  std::vector<Event> next(uint64_t ts) {
    std::vector<Event> out;
    step_++;
    if (step_ % 50 == 1) {  // a change: map [a, a + step pages) or unmap it
      uint64_t a = 0x10000000 + (step_ / 50 % 7) * 0x100000;
      bool map = (step_ / 50) % 2 == 0;
      if (map) {
        VmaInfo v = anon_vma(a, 1 + step_ % 13);
        if (step_ % 3 == 0) v.path = "/lib/x" + std::to_string(step_);
        out.push_back(vma_record(kPid, ts, v));
      }
      out.push_back(snapshot_record(kPid, ts, kMm, a, a + 0x100000 - 1, map ? 1 : 0));
    }
    Event f = fault_event(kPid, ts, 0x20000000 + (step_ * 7919 % 4096) * kPg, 0);
    f.ip = 0x400000 + step_ % 64;
    f.latency_ns = 1000 + static_cast<uint32_t>(step_ % 777);
    out.push_back(f);
    return out;
  }
  // The whole address space the process starts with.
  static std::vector<Event> seed(uint64_t ts) {
    std::vector<Event> out =
        snapshot_events(kPid, ts, kMm, 0, ~0ULL, {anon_vma(0x20000000, 4096), anon_vma(0x7ff000000000, 4096)},
                        VT_SNAP_SEED);
    out.back().start_brk = out.back().brk = 0x30000000;
    return out;
  }

 private:
  uint64_t step_ = 0;
};

struct ReadBack {
  TraceMeta meta;
  std::vector<Event> events;
  ReadSummary sum;
};

ReadBack read_back(const std::string& path) {
  ReadBack r;
  auto rd = TraceReader::open(path);
  EXPECT_TRUE(rd) << path << ": " << rd.error();
  if (!rd) return r;
  r.meta = rd->meta();
  auto sum = rd->for_each([&](const Event& e) { r.events.push_back(e); });
  EXPECT_TRUE(sum);
  if (sum) r.sum = *sum;
  return r;
}

std::string model_maps(const TraceMeta& meta, const std::vector<Event>& events) {
  Model m(meta);
  for (const auto& e : events) m.apply(e);
  return m.maps_text(kPid);
}

class LongRecTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/vmatrace-longrec-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/t.vmt";
  }
  void TearDown() override { [[maybe_unused]] int rc = system(("rm -rf " + dir_).c_str()); }
  // Rotating files whose every new file starts with the model's state:
  // created, headed and published (nullptr, the test failed, otherwise).
  std::unique_ptr<TraceFiles> open_rotating(const TraceMeta& meta, const Model& model, TraceFilesOptions o) {
    auto files = TraceFiles::create(o, [&meta, &model](uint64_t ts) { return file_start(meta, model, ts); });
    if (!files) {
      ADD_FAILURE() << files.error();
      return nullptr;
    }
    if (!(*files)->write_header(meta) || !(*files)->publish()) {
      ADD_FAILURE() << "header or publish failed";
      return nullptr;
    }
    return std::move(*files);
  }
  std::string dir_, path_;
};

TEST(SizeBound, NoRecordEncodesLongerThanItsBound) {
  std::vector<Event> cases;
  Event e;
  e.ts = ~0ULL;
  e.pid = 0xffffffff;
  e.tid = 1;
  for (Kind k : {Kind::Syscall, Kind::Fault, Kind::Vma, Kind::Exec, Kind::Fork, Kind::Exit, Kind::Snapshot,
                 Kind::Stack, Kind::Stats}) {
    Event x = e;
    x.kind = k;
    x.args.fill(~0ULL);
    x.ret = INT64_MIN;
    x.addr = x.ip = ~0ULL;
    x.latency_ns = x.duration_ns = ~0u;
    x.mm = x.lo = x.hi = x.start_brk = x.brk = x.start_stack = ~0ULL;
    x.count = ~0u;
    x.status = INT32_MIN;
    x.vma.start = 0;
    x.vma.end = ~0ULL;
    x.vma.flags = x.vma.pgoff = x.vma.ino = ~0ULL;
    x.vma.path = std::string(4096, 'p');
    x.filename = std::string(300, 'f');
    x.stack.assign(127, 0x8000000000000000ULL);
    x.lost.by_reason.assign(8, ~0ULL);
    x.stack_id = INT32_MIN;
    cases.push_back(x);
  }
  for (const Event& c : cases) {
    ChunkEncoder enc;
    Event before;  // the widest deltas come after a record far away
    before.ts = 0;
    before.pid = 2;
    before.tid = 3;
    enc.encode(before);
    size_t at = enc.size();
    enc.encode(c);
    EXPECT_LE(enc.size() - at, encoded_size_bound(c)) << "kind " << static_cast<int>(c.kind);
    const size_t bound = enc.size();
    EXPECT_LE(enc.finish().size(), bound) << "size() bounds what finish() gives";
  }
}

TEST(Sizes, ParsesSuffixesAndRefusesTheRest) {
  EXPECT_EQ(parse_size("4096"), 4096u);
  EXPECT_EQ(parse_size("64K"), 65536u);
  EXPECT_EQ(parse_size("500M"), 500ull << 20);
  EXPECT_EQ(parse_size("1.5g"), 3ull << 29);
  EXPECT_EQ(parse_size("2GiB"), 2ull << 30);
  EXPECT_EQ(parse_size("1T"), 1ull << 40);
  for (const char* bad : {"", "M", "-1M", "1X", "1 M", "nan", "inf", "1e30G", "0x10", "16777216T"})
    EXPECT_FALSE(parse_size(bad)) << bad;
}

TEST_F(LongRecTest, LimitEndsTheFileWholeAndWithinTheSize) {
  constexpr uint64_t kLimit = 100 << 10;
  auto w = TraceWriter::create(path_);
  ASSERT_TRUE(w);
  (*w)->set_limit(kLimit);
  ASSERT_TRUE((*w)->write_header(meta_at(kT0)));
  ASSERT_TRUE((*w)->publish());
  Workload wl;
  uint64_t taken = 0;
  for (uint64_t i = 0; i < 2000000 && !(*w)->full(); i++) {
    for (const Event& e : wl.next(kT0 + i * 1000)) {
      ASSERT_TRUE((*w)->append(e));
      if ((*w)->full()) break;
      taken++;
    }
  }
  ASSERT_TRUE((*w)->full()) << "the workload never filled the file";
  LostCounts lost;
  lost.by_reason = {3, 4};
  ASSERT_TRUE((*w)->finish(lost));
  EXPECT_LE(file_size(path_), kLimit);
  EXPECT_GT(file_size(path_), kLimit * 3 / 4) << "the file should be filled, not cut early";
  auto r = read_back(path_);
  EXPECT_TRUE(r.sum.complete) << r.sum.warning;
  ASSERT_EQ(r.events.size(), taken + 1);  // + the final stats
  EXPECT_EQ(r.events.back().lost, lost);
}

TEST_F(LongRecTest, LimitBelowTheHeaderIsAnError) {
  auto w = TraceWriter::create(path_);
  ASSERT_TRUE(w);
  (*w)->set_limit(64 << 10);
  TraceMeta m = meta_at(kT0);
  m.maps_at_attach = std::string(70 << 10, 'x');
  auto st = (*w)->write_header(m);
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().find("no room after the"), std::string::npos) << st.error();
}

// Feeds the workload through TraceFiles (before the model, as the recorder
// does) until `rotations` rotations happened; returns every event fed.
std::vector<Event> record_rotating(TraceFiles* files, Model* model, unsigned rotations, uint64_t* ts) {
  std::vector<Event> all;
  Workload wl;
  for (const Event& e : Workload::seed(*ts)) {
    EXPECT_TRUE(files->append(e));
    model->apply(e);
    all.push_back(e);
  }
  while (files->rotations() < rotations) {
    *ts += 1000;
    for (const Event& e : wl.next(*ts)) {
      EXPECT_TRUE(files->append(e));
      model->apply(e);
      all.push_back(e);
    }
  }
  return all;
}

TEST_F(LongRecTest, RotationKeepsNFilesEachAWholeTraceWithItsStartingVmas) {
  TraceMeta meta = meta_at(kT0);
  Model model(meta);
  TraceFilesOptions o{path_, 80 << 10, 3};
  auto files = open_rotating(meta, model, o);
  ASSERT_TRUE(files);
  uint64_t ts = kT0;
  auto all = record_rotating(files.get(), &model, 5, &ts);
  LostCounts lost;
  lost.by_reason = {0, 9};
  ASSERT_TRUE(files->finish(lost));

  EXPECT_TRUE(exists(path_ + ".1"));
  EXPECT_TRUE(exists(path_ + ".2"));
  EXPECT_FALSE(exists(path_ + ".3"));
  auto newest = read_back(path_), older = read_back(path_ + ".1"), oldest = read_back(path_ + ".2");
  for (auto* r : {&newest, &older, &oldest}) {
    EXPECT_TRUE(r->sum.complete) << r->sum.warning;
    ASSERT_FALSE(r->events.empty());
    EXPECT_EQ(r->events.front().kind, Kind::Vma);  // the VMA set it starts with
  }
  EXPECT_LE(file_size(path_ + ".1"), o.max_bytes);
  EXPECT_LE(file_size(path_ + ".2"), o.max_bytes);
  // logrotate's order: .1 is newer than .2, and the newest follows on from .1.
  EXPECT_LT(oldest.meta.clock_monotonic_ns, older.meta.clock_monotonic_ns);
  EXPECT_LT(older.meta.clock_monotonic_ns, newest.meta.clock_monotonic_ns);
  EXPECT_EQ(older.events.back().ts, 0u);  // the final stats
  // Each file alone models the process exactly: as a model of everything so far.
  EXPECT_EQ(model_maps(newest.meta, newest.events), model.maps_text(kPid));
  // ... and at the end of .1, as the whole recording's model at that moment.
  Model upto(meta);
  uint64_t end1 = newest.meta.clock_monotonic_ns;
  for (const auto& e : all)
    if (e.ts < end1) upto.apply(e);
  EXPECT_EQ(model_maps(older.meta, older.events), upto.maps_text(kPid));
  // The lost counters count from each file's start: all 9 came in the last.
  EXPECT_EQ(newest.events.back().lost.by_reason, (std::vector<uint64_t>{0, 9}));
}

// A rotation inside a snapshot (its records written, its closing event not
// yet) once left the new file with the end alone: "a snapshot lost N of its
// records", the model uncertain from the file's start.
TEST_F(LongRecTest, ASnapshotCutByARotationIsWholeInTheNewFile) {
  TraceMeta meta = meta_at(kT0);
  Model model(meta);
  auto files = open_rotating(meta, model, {path_, 64 << 10, 3});
  ASSERT_TRUE(files);
  uint64_t ts = kT0;
  while (files->rotations() < 4) {
    ts += 1000;
    std::vector<VmaInfo> space;
    for (uint64_t i = 0; i < 100; i++)  // the whole space, as after an exec
      space.push_back(anon_vma(0x10000000 + i * 2 * kPg + (ts / 1000 % 2) * kPg, 1));
    for (const Event& e : snapshot_events(kPid, ts, kMm, 0, ~0ULL, space, VT_SNAP_EXEC)) {
      ASSERT_TRUE(files->append(e));
      model.apply(e);
    }
  }
  ASSERT_TRUE(files->finish(LostCounts{}));
  for (const char* suffix : {"", ".1"}) {
    auto r = read_back(path_ + suffix);
    Model m(r.meta);
    for (const auto& e : r.events) m.apply(e);
    ASSERT_TRUE(m.uncertainties().empty()) << suffix << ": " << m.uncertainties()[0].reason;
    if (std::string(suffix).empty()) {
      EXPECT_EQ(m.maps_text(kPid), model.maps_text(kPid));
    }
  }
}

// A rotation while the recorder's model is unsure of a process (here: a
// snapshot the kernel refused) begins the new file with the model's VMAs, but
// unsure of them, for the same reason, until a whole snapshot from the kernel
// (a seed) makes the recording sure again: a file read alone says what the
// recording knew. A file begun after that is sure from its start.
TEST_F(LongRecTest, AFileBegunWhileTheModelIsUnsureSaysSoUntilTheKernelShowsTheWhole) {
  TraceMeta meta = meta_at(kT0);
  Model model(meta);
  auto files = open_rotating(meta, model, {path_, 64 << 10, 3});
  ASSERT_TRUE(files);
  auto put = [&](const std::vector<Event>& events) {
    for (const Event& e : events) {
      ASSERT_TRUE(files->append(e));
      model.apply(e);
    }
  };
  uint64_t ts = kT0;
  Workload wl;
  auto until_rotation = [&](unsigned n) {
    while (files->rotations() < n) put(wl.next(ts += 1000));
  };
  put(Workload::seed(ts));
  Event refused = snapshot_record(kPid, ts += 1000, kMm, 0x10000000, 0x100fffff, 0);
  refused.status = -EBUSY;
  put({refused});
  ASSERT_EQ(model.uncertainties().size(), 1u);
  until_rotation(1);
  uint64_t seeded = ts += 1000;
  put(Workload::seed(seeded));
  until_rotation(2);
  ASSERT_TRUE(files->finish(LostCounts{}));

  auto unsure = read_back(path_ + ".1"), sure = read_back(path_);
  EXPECT_EQ(unsure.meta.uncertain_at_start.size(), 1u);
  Model m(unsure.meta);
  for (const auto& e : unsure.events) m.apply(e);
  ASSERT_EQ(m.uncertainties().size(), 1u);
  const Uncertainty& u = m.uncertainties()[0];
  EXPECT_EQ(u.pid, kPid);
  EXPECT_EQ(u.from_ns, 0u);  // from the file's start
  ASSERT_TRUE(u.to_ns.has_value());
  EXPECT_EQ(*u.to_ns, seeded - unsure.meta.clock_monotonic_ns);
  EXPECT_NE(u.reason.find(model.uncertainties()[0].reason), std::string::npos) << u.reason;
  EXPECT_TRUE(sure.meta.uncertain_at_start.empty());
  Model s(sure.meta);
  for (const auto& e : sure.events) s.apply(e);
  EXPECT_TRUE(s.uncertainties().empty()) << s.uncertainties()[0].reason;
}

TEST_F(LongRecTest, RotationRefusesNamesItWouldTakeThatAreNotItsOwn) {
  { std::ofstream(path_ + ".2") << "someone's"; }
  TraceMeta meta = meta_at(kT0);
  Model model(meta);
  auto files = TraceFiles::create({path_, 80 << 10, 4}, [&](uint64_t ts) { return file_start(meta, model, ts); });
  ASSERT_FALSE(files);
  EXPECT_NE(files.error().find(".2 exists"), std::string::npos) << files.error();
  // Beyond the files kept: not its business.
  auto three = TraceFiles::create({path_, 80 << 10, 2}, [&](uint64_t ts) { return file_start(meta, model, ts); });
  EXPECT_TRUE(three);
}

TEST_F(LongRecTest, RotationNeverRemovesAFileItDidNotMake) {
  TraceMeta meta = meta_at(kT0);
  Model model(meta);
  auto files = open_rotating(meta, model, {path_, 80 << 10, 2});
  ASSERT_TRUE(files);
  uint64_t ts = kT0;
  record_rotating(files.get(), &model, 1, &ts);
  // Someone puts another file where the oldest was.
  ASSERT_EQ(unlink((path_ + ".1").c_str()), 0);
  { std::ofstream(path_ + ".1") << "someone's"; }
  Workload wl;
  Status st = Ok{};
  for (int i = 0; i < 1000000 && st && files->rotations() < 2; i++)
    for (const Event& e : wl.next(ts += 1000))
      if (st) st = files->append(e);
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().find("not a file this recording made"), std::string::npos) << st.error();
  std::ifstream in(path_ + ".1");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(text, "someone's");
}

TEST_F(LongRecTest, WithoutRotationTheRecordingEndsAtTheLimit) {
  TraceMeta meta = meta_at(kT0);
  Model model(meta);
  auto files = open_rotating(meta, model, {path_, 80 << 10, 0});
  ASSERT_TRUE(files);
  Workload wl;
  uint64_t ts = kT0;
  while (!files->ended())
    for (const Event& e : wl.next(ts += 1000)) ASSERT_TRUE(files->append(e));
  for (const Event& e : wl.next(ts += 1000)) ASSERT_TRUE(files->append(e));
  EXPECT_GT(files->after_limit(), 1u);
  ASSERT_TRUE(files->finish({}));
  EXPECT_FALSE(exists(path_ + ".1"));
  EXPECT_LE(file_size(path_), 80u << 10);
  EXPECT_TRUE(read_back(path_).sum.complete);
}

TEST(RebaseIndex, MovesBinsToTheNewClockAndFoldsEarlierOnes) {
  ChunkIndex abs;
  abs.last_ns = 123 * kFaultBinNs + 5;
  abs.fault_bins = {{98, 1}, {99, 2}, {100, 3}, {123, 4}};
  ChunkIndex r = rebase_index(abs, 100 * kFaultBinNs);
  EXPECT_EQ(r.last_ns, 23 * kFaultBinNs + 5);
  EXPECT_EQ(r.fault_bins, (std::vector<std::pair<uint64_t, uint32_t>>{{0, 6}, {23, 4}}));
}

// The ring keeps the window and no more, and a dump from any moment in it is
// a whole trace whose model is exact from its first moment.
TEST_F(LongRecTest, FlightRingKeepsTheWindowAndDumpsAWholeTrace) {
  TraceMeta meta = meta_at(kT0);
  Model model(meta);
  constexpr uint64_t kSec = 1'000'000'000, kKeep = 3 * kSec;
  FlightRing ring(kKeep, [&](uint64_t ts) { return file_start(meta, model, ts); });
  Workload wl;
  std::vector<Event> all;
  uint64_t ts = kT0;
  for (const Event& e : Workload::seed(ts)) {
    ASSERT_TRUE(ring.append(e));
    model.apply(e);
  }
  size_t most_chunks = 0;
  for (int ms = 1; ms <= 20000; ms++) {  // 20 s, a few events a millisecond
    ts = kT0 + ms * 1'000'000ull;
    for (int k = 0; k < 3; k++)
      for (const Event& e : wl.next(ts + k)) {
        ASSERT_TRUE(ring.append(e));
        model.apply(e);
        all.push_back(e);
      }
    if (ms % 100 == 0) {
      ASSERT_TRUE(ring.tick(ts, {}));
    }
    most_chunks = std::max(most_chunks, ring.chunks());
  }
  EXPECT_LE(most_chunks, 5u) << "a 3 s window in chunks of 1 s";
  const uint64_t now = ts, from = now - 2 * kSec;
  LostCounts lost;
  lost.by_reason = {1};
  auto d = ring.dump(path_, from, now, lost, "SIGUSR1", 2000);
  ASSERT_TRUE(d) << d.error();
  auto r = read_back(path_);
  EXPECT_TRUE(r.sum.complete) << r.sum.warning;
  EXPECT_EQ(r.meta.flight_trigger, "SIGUSR1");
  EXPECT_EQ(r.meta.flight_window_ms, 2000u);
  EXPECT_LE(r.meta.clock_monotonic_ns, from);
  EXPECT_GT(r.meta.clock_monotonic_ns, from - 2 * kSec);
  // Every fault since the window began, and the VMA set before them.
  size_t faults_in = 0, faults_want = 0;
  for (const auto& e : r.events) faults_in += e.kind == Kind::Fault && e.ts >= from;
  for (const auto& e : all) faults_want += e.kind == Kind::Fault && e.ts >= from;
  EXPECT_EQ(faults_in, faults_want);
  EXPECT_EQ(model_maps(r.meta, r.events), model.maps_text(kPid));
  // At a moment inside the window too: the dump's model against the whole one.
  const uint64_t mid = now - kSec;
  Model whole(meta), part(r.meta);
  for (const auto& e : Workload::seed(kT0)) whole.apply(e);
  for (const auto& e : all)
    if (e.ts <= mid) whole.apply(e);
  for (const auto& e : r.events)
    if (e.ts <= mid && e.kind != Kind::Stats) part.apply(e);
  EXPECT_EQ(part.maps_text(kPid), whole.maps_text(kPid));
  EXPECT_EQ(r.events.back().lost, lost);
}

TEST_F(LongRecTest, FlightRingStaysWithinItsByteBudget) {
  TraceMeta meta = meta_at(kT0);
  Model model(meta);
  FlightRing ring(3600ull * 1'000'000'000, [&](uint64_t ts) { return file_start(meta, model, ts); }, 16 << 10);
  Workload wl;
  uint64_t ts = kT0;
  for (int ms = 1; ms <= 20000; ms++) {
    ts = kT0 + ms * 1'000'000ull;
    for (const Event& e : wl.next(ts)) ASSERT_TRUE(ring.append(e));
    if (ms % 1000 == 0) {
      ASSERT_TRUE(ring.tick(ts, {}));
    }
  }
  EXPECT_LE(ring.bytes(), 16u << 10);
  EXPECT_GT(ring.dropped_for_budget(), 0u);
}

// Dumps take PATH, PATH.2, PATH.3 ... in order; a name taken by someone
// else is skipped, never replaced; a dump asked for waits one poll.
TEST_F(LongRecTest, FlightDumpsTakeNumberedNamesAndSkipOthersFiles) {
  TraceMeta meta = meta_at(kT0);
  Model model(meta);
  TraceOutputOptions o;
  o.path = path_;
  o.flight_ns = 2'000'000'000;
  auto out = TraceOutput::create(o, [&](uint64_t ts) { return file_start(meta, model, ts); });
  ASSERT_TRUE(out) << out.error();
  ASSERT_TRUE((*out)->begin(meta));
  ASSERT_TRUE((*out)->publish());
  EXPECT_FALSE(exists(path_)) << "a flight recording writes nothing until a dump";
  { std::ofstream(path_ + ".2") << "someone's"; }
  Workload wl;
  uint64_t ts = kT0;
  auto feed = [&] {
    for (int i = 0; i < 100; i++)
      for (const Event& e : wl.next(ts += 1'000'000)) {
        ASSERT_TRUE((*out)->append(e));
        model.apply(e);
      }
  };
  for (const Event& e : Workload::seed(ts)) {
    ASSERT_TRUE((*out)->append(e));
    model.apply(e);
  }
  feed();
  (*out)->request_dump();
  ASSERT_TRUE((*out)->poll(ts, {}));
  EXPECT_FALSE(exists(path_)) << "written after the next poll";
  ASSERT_TRUE((*out)->poll(ts, {}));
  EXPECT_TRUE(read_back(path_).sum.complete);
  feed();
  ASSERT_TRUE((*out)->finish(ts, {}));
  auto last = read_back(path_ + ".3");
  EXPECT_TRUE(last.sum.complete);
  EXPECT_EQ(last.meta.flight_trigger, "exit");
  std::ifstream in(path_ + ".2");
  EXPECT_EQ(std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>()), "someone's");
}

}  // namespace
}  // namespace vmatrace
