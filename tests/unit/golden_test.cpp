// Every output of `vmatrace report`, byte for byte, on one small synthetic
// trace: the text and JSON reports, the events as text and JSON lines, the
// maps at the end and at a moment, Perfetto, folded stacks and the heatmaps.
// The expected files are in tests/unit/golden/; a change of format shows up
// as a diff there. After an intended change, regenerate them with
//   VMATRACE_UPDATE_GOLDEN=1 build/tests/unit_tests --gtest_filter='Golden*'
// and review the diff.
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <vector>

#include "cli/commands.h"
#include "cli/report_pass.h"
#include "events/abi.h"
#include "record/trace_file.h"
#include "synthetic_events.h"
#include "temp_trace.h"

namespace vmatrace {
namespace {

constexpr uint32_t kPid = 77, kChild = 78, kThread = 79;
constexpr uint64_t kT0 = 1'000'000'000, kMs = 1'000'000, kPg = 4096;
constexpr uint64_t kCode = 0x400000, kData = 0x7f0000000000, kNew = 0x7f1000000000, kOdd = 0x7f2000000000;
constexpr uint64_t kVdso = 0x7fff00000000;
constexpr int32_t kStack = 5;
constexpr uint64_t kMlockOnFault = 1;

class GoldenTest : public TempTraceTest {
 protected:
  void TearDown() override {
    for (const char* f : {"/h.svg", "/h.html", "/p.json", "/f.txt"}) unlink((dir_ + f).c_str());
    TempTraceTest::TearDown();
  }

  static uint64_t ms_in(uint64_t ms) { return kT0 + ms * kMs; }
  static Event at(Kind kind, uint64_t ms, uint32_t tid = kPid) {
    Event e = event_at(kind, tid == kThread ? kPid : tid, ms_in(ms));
    e.tid = tid;
    return e;
  }
  static Event vma(uint64_t ms, uint64_t start, uint64_t pages, uint64_t flags, const std::string& path,
                   uint32_t path_flags, uint16_t reason = VT_VMA_SNAPSHOT) {
    VmaInfo v = anon_vma(start, pages, flags);
    v.path = path;
    v.path_flags = path_flags;
    if (path_flags & VT_PATH_FILE) {
      v.dev = (254u << 20) | 1;
      v.ino = 1234 + start % 97;
      v.pgoff = 2;
    }
    return vma_record(kPid, ms_in(ms), v, reason);
  }
  static Event snapshot(uint64_t ms, uint64_t lo, uint64_t hi, uint32_t count, uint16_t reason, uint16_t sc = 0) {
    return snapshot_record(kPid, ms_in(ms), 0xffff888000001000, lo, hi, count, reason, sc);
  }
  static Event syscall(uint64_t ms, uint16_t sc, std::array<uint64_t, 6> args, int64_t ret) {
    Event e = syscall_event(kPid, ms_in(ms), sc, args, ret);
    e.duration_ns = 1500;
    return e;
  }
  static Event fault(uint64_t us, uint64_t addr, uint16_t error_code, uint16_t flags = 0, int32_t stack = -1) {
    Event f = fault_event(kPid, kT0 + us * 1000, addr, error_code, flags);
    f.ip = kCode + 0x120;
    f.latency_ns = 700 + static_cast<uint32_t>(us % 5000);
    f.stack_id = stack;
    return f;
  }

  // One process with a binary, anonymous data, a deleted file whose name
  // holds a newline and the vdso; it maps, fails to map, protects, locks,
  // faults (a slow trickle, a storm of first touches, one of each odd kind),
  // forks a child that execs a hostile name, starts a thread, unmaps.
  void write() {
    auto w = TraceWriter::create(path_);
    ASSERT_TRUE(w);
    TraceMeta meta;
    meta.clock_monotonic_ns = kT0;
    meta.target_pid = kPid;
    meta.command = {"/opt/app", "--name=a\nb"};
    meta.kernel_release = "6.18.0-golden";
    meta.hostname = "golden\thost";
    std::vector<Event> ev;
    ev.push_back(vma(0, kCode, 16, 0x75, "/opt/app", VT_PATH_FILE));
    ev.push_back(vma(0, kData, 64, 0x73, "", 0));
    ev.push_back(vma(0, kOdd, 4, 0xfb, "/tmp/odd\nname", VT_PATH_FILE | VT_PATH_DELETED));
    ev.push_back(vma(0, kVdso, 2, 0x75, "[vdso]", VT_PATH_SPECIAL));
    ev.push_back(snapshot(0, 0, ~0ULL, 4, VT_SNAP_SEED));
    // mmap: the VMA it made, the snapshot after it, then its own record.
    ev.push_back(vma(1, kNew, 16, 0x73, "", 0, VT_VMA_MAPPED));
    ev.push_back(vma(1, kNew, 16, 0x73, "", 0));
    ev.push_back(snapshot(1, kNew, kNew + 16 * kPg - 1, 1, VT_SNAP_SYSCALL, VT_SC_MMAP));
    ev.push_back(syscall(1, VT_SC_MMAP,
                         {0, 16 * kPg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, ~0ULL, 0}, kNew));
    ev.push_back(syscall(2, VT_SC_MMAP, {0, 1ULL << 46, PROT_READ, MAP_SHARED | MAP_POPULATE, 3, 0x1000}, -ENOMEM));
    ev.push_back(vma(3, kData, 1, 0x71, "", 0));
    ev.push_back(vma(3, kData + kPg, 63, 0x73, "", 0));
    ev.push_back(snapshot(3, kData, kData + kPg - 1, 2, VT_SNAP_SYSCALL, VT_SC_MPROTECT));
    ev.push_back(syscall(3, VT_SC_MPROTECT, {kData, kPg, PROT_READ}, 0));
    ev.push_back(syscall(4, VT_SC_MADVISE, {kNew, kPg, MADV_DONTNEED}, 0));
    ev.push_back(syscall(4, VT_SC_MLOCK2, {kNew, kPg, kMlockOnFault}, -EPERM));
    // A slow trickle of faults on the code, one of each odd kind among them.
    for (uint64_t ms = 10; ms < 1000; ms += 20) ev.push_back(fault(ms * 1000, kCode + (ms % 16) * kPg, VT_PF_USER | VT_PF_INSTR));
    ev.push_back(fault(15'000, kOdd, VT_PF_USER, VT_FAULT_MAJOR));
    ev.push_back(fault(25'000, kData + 8, VT_PF_USER | VT_PF_WRITE | VT_PF_PROT, VT_FAULT_INCOMPLETE));
    ev.push_back(fault(35'000, kData + 2 * kPg, 0, VT_FAULT_NO_ENTRY));
    ev.push_back(fault(45'000, kNew, VT_PF_WRITE, VT_FAULT_KERNEL));
    ev.push_back(fault(55'000, 0x10, VT_PF_USER));
    // The storm: 150 first touches of the data in 20 ms, half of them sampled.
    for (uint64_t i = 0; i < 150; i++)
      ev.push_back(fault(500'000 + i * 133, kData + (1 + i % 60) * kPg, VT_PF_USER | VT_PF_WRITE, 0, i % 2 ? kStack : -1));
    Event s = at(Kind::Stack, 530);
    s.pid = s.tid = 0;
    s.stack_id = kStack;
    s.stack = {kCode + 0x120, kCode + 0x240};
    ev.push_back(s);
    Event fork = at(Kind::Fork, 600);
    fork.child_pid = fork.child_tid = kChild;
    ev.push_back(fork);
    Event exec = at(Kind::Exec, 610, kChild);
    exec.filename = "/bin/evil\n  0.000000 1/1 exit";
    exec.old_tid = kChild;
    ev.push_back(exec);
    Event child_exit = at(Kind::Exit, 620, kChild);
    child_exit.exit_code = 256;
    child_exit.exit_flags = VT_EXIT_GROUP_DEAD;
    ev.push_back(child_exit);
    Event clone = at(Kind::Fork, 630);
    clone.child_pid = kPid;
    clone.child_tid = kThread;
    clone.fork_flags = VT_FORK_THREAD;
    ev.push_back(clone);
    Event thread_exit = at(Kind::Exit, 640, kThread);
    ev.push_back(thread_exit);
    ev.push_back(snapshot(800, kNew, kNew + 16 * kPg - 1, 0, VT_SNAP_SYSCALL, VT_SC_MUNMAP));
    ev.push_back(syscall(800, VT_SC_MUNMAP, {kNew, 16 * kPg}, 0));
    std::stable_sort(ev.begin(), ev.end(), [](const Event& a, const Event& b) { return a.ts < b.ts; });

    ASSERT_TRUE((*w)->write_header(meta));
    for (const Event& e : ev) ASSERT_TRUE((*w)->append(e));
    LostCounts lost;
    lost.by_reason = {0, 3, 0, 0, 2};
    ASSERT_TRUE((*w)->finish(lost));
  }

  // run_report's stdout, the temporary directory's name replaced by "DIR".
  std::string report(ReportOptions opts) {
    opts.file = path_;
    opts.storm_min_faults = 100;
    testing::internal::CaptureStdout();
    int code = run_report(opts);
    std::string out = testing::internal::GetCapturedStdout();
    EXPECT_EQ(code, 0);
    return without_dir(out);
  }

  std::string without_dir(std::string s) const {
    for (size_t at = s.find(dir_); at != std::string::npos; at = s.find(dir_, at)) s.replace(at, dir_.size(), "DIR");
    return s;
  }

  std::string slurp(const std::string& path) const {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

  // Compares with the golden file, or rewrites it under VMATRACE_UPDATE_GOLDEN.
  void expect_golden(const std::string& name, const std::string& got) {
    std::string path = std::string(GOLDEN_DIR) + "/" + name;
    if (getenv("VMATRACE_UPDATE_GOLDEN")) {
      std::ofstream(path, std::ios::binary | std::ios::trunc) << got;
      return;
    }
    std::string want = slurp(path);
    ASSERT_FALSE(want.empty()) << path << " is missing";
    EXPECT_EQ(got, want) << name << " differs from " << path;
  }
};

TEST_F(GoldenTest, TextReport) {
  write();
  expect_golden("report.txt", report({}));
}

TEST_F(GoldenTest, JsonReport) {
  write();
  ReportOptions o;
  o.json = true;
  expect_golden("report.json", report(o));
}

TEST_F(GoldenTest, EventsAsText) {
  write();
  ReportOptions o;
  o.events = true;
  expect_golden("events.txt", report(o));
}

TEST_F(GoldenTest, EventsAsJsonLines) {
  write();
  ReportOptions o;
  o.events = true;
  o.json = true;
  expect_golden("events.jsonl", report(o));
}

TEST_F(GoldenTest, MapsAtTheEndAndAtAMoment) {
  write();
  ReportOptions o;
  o.maps = true;
  expect_golden("maps.txt", report(o));
  o.at_s = 0.002;
  expect_golden("maps_at.txt", report(o));
}

TEST_F(GoldenTest, FilesPerfettoFoldedHeatmaps) {
  write();
  ReportOptions o;
  o.perfetto = dir_ + "/p.json";
  o.heatmap = dir_ + "/h.svg";
  report(o);
  expect_golden("perfetto.json", without_dir(slurp(o.perfetto)));
  expect_golden("heatmap.svg", without_dir(slurp(o.heatmap)));
  ReportOptions html;
  html.heatmap = dir_ + "/h.html";
  report(html);
  expect_golden("heatmap.html", without_dir(slurp(html.heatmap)));
  ReportOptions folded;
  folded.folded = dir_ + "/f.txt";
  EXPECT_EQ(report(folded), "");
  expect_golden("folded.txt", without_dir(slurp(folded.folded)));
}

// Each writer lays out its document itself: the order the sections are
// written in does not matter, and a section never written is left out.
TEST_F(GoldenTest, EachFormatLaysOutItsSectionsWhateverTheOrderTheyCameIn) {
  write();
  AnalysisOptions ao;
  ao.storm_min_faults = 100;
  auto pass = read_trace(path_, ReportWants{ao});
  ASSERT_TRUE(pass) << pass.error();
  ReportPass& p = **pass;
  for (OutputFormat format : {OutputFormat::Text, OutputFormat::Json}) {
    auto out = make_output(format);
    out->vmas(*p.model);
    out->model_stats(p.analysis.model->stats());
    out->summary(p.analysis.meta, p.read, path_, p.summary);
    out->storms(p.analysis);
    EXPECT_EQ(out->document(), report_document(p, format, path_));
  }
  auto closing = make_output(OutputFormat::Text);  // what record prints when its live view ends
  closing->vmas(*p.model);
  closing->summary(p.analysis.meta, p.read, "(live)", p.summary);
  std::string text = closing->document();
  EXPECT_EQ(text.rfind("vmatrace report: (live)\n", 0), 0u) << text;
  EXPECT_EQ(text.find("fault storms"), std::string::npos) << text;
  EXPECT_NE(text.find("\ntop VMAs by faults:\n"), std::string::npos) << text;
}

}  // namespace
}  // namespace vmatrace
