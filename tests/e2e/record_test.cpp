// End to end: real BPF on this kernel, real workloads, results checked against
// what the workloads did and what the kernel itself counted.
#include <signal.h>
#include <sys/stat.h>

#include <sstream>
#include <sys/sysmacros.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <map>
#include <set>
#include <thread>

#include "harness.h"

namespace e2e {
namespace {

constexpr uint64_t kPage = 4096;

uint32_t exec_pid(const std::vector<json>& events) {
  for (const auto& e : events)
    if (e["kind"] == "exec") return e["pid"];
  ADD_FAILURE() << "no exec event";
  return 0;
}

// The same checks on this kernel as it is and as if it lacked optional
// features (older or locked-down kernels take these paths), and with the
// opt-in mmap_lock hook (kLockHook).
constexpr const char* kLockHook = "mmap_lock_hook";

class Degraded : public ::testing::TestWithParam<std::string> {
 protected:
  std::vector<std::string> vmatrace_argv(const std::string& trace) const {
    std::vector<std::string> argv = {vmatrace(), "-o", trace};
    if (at_lock())
      argv.push_back("--mmap-lock-hook");
    else if (!GetParam().empty())
      argv.insert(argv.end(), {"--without", GetParam()});
    argv.push_back("--");
    return argv;
  }
  bool lacks(const std::string& feature) const { return !at_lock() && GetParam().find(feature) != std::string::npos; }
  bool at_lock() const { return GetParam() == kLockHook; }
  // Where the kernel cannot take the mmap_lock hook, what must happen is a refusal.
  bool refused_here() const {
    if (!at_lock() || mmap_lock_hook_usable()) return false;
    expect_mmap_lock_hook_refused();
    return true;
  }
};

INSTANTIATE_TEST_SUITE_P(Kernels, Degraded,
                         ::testing::Values("", "task_storage", "probe_read,find_vma", "fault_tracepoints",
                                           "syscall_fentry", "syscall_fentry,syscall_tracepoints", kLockHook),
                         [](const auto& info) {
                           if (info.param == kLockHook) return std::string("with_the_mmap_lock_hook");
                           std::string n = info.param.empty() ? "all_features" : "without_" + info.param;
                           for (auto& c : n)
                             if (c == ',') c = '_';
                           return n;
                         });

// madvise advice that changes no VMA flags: the kernel takes its mmap_lock
// for reading, or only the VMAs' own locks (mm/madvise.c,
// madvise_need_mmap_write(), 6.18): DONTNEED, WILLNEED, FREE, REMOVE, COLD,
// PAGEOUT, POPULATE_READ/_WRITE, DONTNEED_LOCKED, COLLAPSE, GUARD_INSTALL/_REMOVE.
bool advice_takes_no_write_lock(uint64_t advice) {
  static const std::set<uint64_t> kReadOnly = {3, 4, 8, 9, 20, 21, 22, 23, 24, 25, 102, 103};
  return kReadOnly.count(advice) > 0;
}

// What the mmap_lock hook cannot see: calls that never take the lock for
// writing. prctl(PR_SET_VMA) fails with EINVAL before the lock on kernels
// without CONFIG_ANON_VMA_NAME (kernel/sys.c).
bool takes_no_write_lock(const json& call) {
  if (call["kind"] == "madvise") return advice_takes_no_write_lock(call["advice"]);
  return call["kind"] == "prctl" && call["ret"] == -EINVAL;
}

TEST_P(Degraded, EveryAddressSpaceSyscallExactlyAsPerformed) {
  REQUIRE_ROOT();
  if (refused_here()) return;
  TempDir tmp;
  auto trace = tmp.path("t.vmt"), log = tmp.path("log"), data = tmp.path("data");
  auto argv = vmatrace_argv(trace);
  argv.insert(argv.end(), {workload("syscalls"), log, data});
  auto r = run(argv);
  ASSERT_EQ(r.status, 0) << r.err;

  auto truth = json_lines(read_file(log));
  ASSERT_EQ(truth.size(), 25u);
  auto events = trace_events(trace);
  uint32_t pid = exec_pid(events);
  std::vector<json> calls;
  for (const auto& e : between_markers(events, pid))
    if (e["kind"] != "fault") calls.push_back(e);

  // A call this kernel does not have (mseal before 6.10: ENOSYS) has no
  // tracepoint of its own: only the raw sys_enter/sys_exit hooks see it.
  truth.erase(std::remove_if(truth.begin(), truth.end(),
                             [&](const json& t) {
                               return t["ret"] == -ENOSYS && !std::any_of(calls.begin(), calls.end(), [&](const json& c) {
                                 return c["kind"] == t["kind"];
                               });
                             }),
              truth.end());
  if (at_lock()) truth.erase(std::remove_if(truth.begin(), truth.end(), takes_no_write_lock), truth.end());
  ASSERT_EQ(calls.size(), truth.size());
  for (size_t i = 0; i < truth.size(); i++) {
    SCOPED_TRACE("call " + std::to_string(i) + ": " + truth[i].dump());
    for (const auto& [key, want] : truth[i].items()) EXPECT_EQ(calls[i][key], want) << key;
    EXPECT_EQ(calls[i]["pid"], pid);
    EXPECT_EQ(calls[i]["tid"], pid);
    EXPECT_TRUE(calls[i].contains("ts"));
  }

  auto sum = trace_summary(trace);
  EXPECT_EQ(sum["lost_total"], 0);
  EXPECT_TRUE(sum["complete"].get<bool>());
  if (lacks("find_vma")) return;  // no VMA of a new mapping without bpf_find_vma

  // The shared file mapping carries what /proc/PID/maps shows for it.
  struct stat st;
  ASSERT_EQ(stat(data.c_str(), &st), 0);
  auto first = [&](const char* kind, auto&& also) -> const json& {
    for (const auto& c : calls)
      if (c["kind"] == kind && also(c)) return c;
    ADD_FAILURE() << "no " << kind;
    static const json none = json::object();
    return none;
  };
  const json& fmap = first("mmap", [](const json& c) { return c["offset"] == 2 * kPage; });
  ASSERT_EQ(fmap["kind"], "mmap");
  ASSERT_TRUE(fmap.contains("vma")) << fmap.dump();
  EXPECT_EQ(fmap["vma"]["path"], data);
  EXPECT_EQ(fmap["vma"]["inode"], st.st_ino);
  char dev[32];
  snprintf(dev, sizeof(dev), "%02x:%02x", major(st.st_dev), minor(st.st_dev));
  EXPECT_EQ(fmap["vma"]["dev"], dev);
  EXPECT_EQ(fmap["vma"]["offset"], 2 * kPage);
  EXPECT_EQ(fmap["vma"]["perms"], "r--s");
  EXPECT_EQ(fmap["vma"]["start"], fmap["ret"]);
  EXPECT_EQ(fmap["vma"]["end"], fmap["ret"].get<uint64_t>() + 4 * kPage);
  // The SysV segment: an in-kernel shmem file.
  const json& shm = first("shmat", [](const json&) { return true; });
  ASSERT_EQ(shm["kind"], "shmat");
  ASSERT_TRUE(shm.contains("vma"));
  EXPECT_EQ(shm["vma"]["path"].get<std::string>().rfind("/SYSV", 0), 0u) << shm.dump();
  EXPECT_EQ(shm["vma"]["perms"], "rw-s");
}

TEST_P(Degraded, FaultsMatchTheKernelsOwnCountExactly) {
  REQUIRE_ROOT();
  if (refused_here()) return;
  TempDir tmp;
  auto trace = tmp.path("t.vmt");
  const uint64_t pages = 2048;
  auto argv = vmatrace_argv(trace);
  argv.insert(argv.end(), {workload("faults"), std::to_string(pages), tmp.path("data")});
  auto r = run(argv);
  ASSERT_EQ(r.status, 0) << r.err;
  auto truth = json_lines(r.out);
  ASSERT_EQ(truth.size(), 1u) << r.out;
  const json& t = truth[0];

  auto events = trace_events(trace);
  uint32_t pid = exec_pid(events);
  uint64_t minor = 0, major = 0;
  std::map<uint64_t, int> anon_pages, file_pages;
  for (const auto& e : between_markers(events, pid)) {
    if (e["kind"] != "fault") continue;
    ASSERT_TRUE(e["complete"].get<bool>()) << e.dump();
    (e["major"].get<bool>() ? major : minor)++;
    uint64_t a = e["addr"];
    bool entry_known = !lacks("fault_tracepoints");
    if (a >= t["anon_start"] && a < t["anon_end"]) {
      anon_pages[a / kPage]++;
      EXPECT_EQ(e["access"], entry_known ? "write" : "unknown");
      if (entry_known) {
        EXPECT_FALSE(e["protection"].get<bool>());
      }
      EXPECT_FALSE(e["major"].get<bool>());
      EXPECT_EQ(e.contains("latency_ns"), entry_known);
    } else if (a >= t["file_start"] && a < t["file_end"]) {
      file_pages[a / kPage]++;
      EXPECT_EQ(e["access"], entry_known ? "read" : "unknown");
    }
  }
  EXPECT_EQ(minor, t["minflt"].get<uint64_t>());
  EXPECT_EQ(major, t["majflt"].get<uint64_t>());
  EXPECT_GT(major, 0u) << "the file pages were dropped from the cache: reading them is I/O";
  EXPECT_EQ(anon_pages.size(), pages);
  EXPECT_EQ(file_pages.size(), pages);
  for (const auto& [page, n] : anon_pages) EXPECT_EQ(n, 1) << "page " << page;
  for (const auto& [page, n] : file_pages) EXPECT_EQ(n, 1) << "page " << page;

  auto sum = trace_summary(trace);
  EXPECT_EQ(sum["lost_total"], 0);
  EXPECT_GE(sum["faults"]["minor"].get<uint64_t>(), minor);
  EXPECT_GE(sum["faults"]["major"].get<uint64_t>(), major);
  if (!lacks("fault_tracepoints")) {
    EXPECT_GT(sum["faults"]["latency_ns"]["p50"].get<uint64_t>(), 0u);
  }
}

TEST(Record, ThreadsAreTracedAndFaultsChargedToTheirThread) {
  REQUIRE_ROOT();
  TempDir tmp;
  auto trace = tmp.path("t.vmt");
  const uint64_t pages = 512;
  auto r = run({vmatrace(), "-o", trace, "--", workload("threads"), std::to_string(pages)});
  ASSERT_EQ(r.status, 0) << r.err;
  auto threads = json_lines(r.out);
  ASSERT_EQ(threads.size(), 2u);
  auto events = trace_events(trace);
  uint32_t pid = exec_pid(events);
  std::set<uint32_t> cloned;
  for (const auto& e : events)
    if (e["kind"] == "fork" && e["thread"].get<bool>()) cloned.insert(e["child_tid"].get<uint32_t>());
  for (const auto& t : threads) {
    uint32_t tid = t["tid"];
    EXPECT_TRUE(cloned.count(tid)) << "clone of thread " << tid << " recorded";
    uint64_t in_range = 0, by_other = 0;
    for (const auto& e : events) {
      if (e["kind"] != "fault" || e["addr"] < t["start"] || e["addr"] >= t["end"]) continue;
      EXPECT_EQ(e["pid"], pid);
      (e["tid"] == tid ? in_range : by_other)++;
    }
    EXPECT_EQ(in_range, pages);
    EXPECT_EQ(by_other, 0u);
    EXPECT_GE(t["minflt"].get<uint64_t>(), pages);
  }
}

TEST(Record, FollowChildrenTracesForkedProcesses) {
  REQUIRE_ROOT();
  TempDir tmp;
  for (bool follow : {true, false}) {
    SCOPED_TRACE(follow ? "--follow-children" : "without --follow-children");
    auto trace = tmp.path(follow ? "f.vmt" : "n.vmt");
    std::vector<std::string> argv = {vmatrace(), "-o", trace};
    if (follow) argv.push_back("--follow-children");
    for (const auto& a : {std::string("--"), workload("forker"), std::string("16")}) argv.push_back(a);
    auto r = run(argv);
    ASSERT_EQ(r.status, 0) << r.err;
    auto out = json_lines(r.out);
    ASSERT_EQ(out.size(), 1u);
    uint32_t child = out[0]["child"];
    uint64_t start = out[0]["start"];
    auto events = trace_events(trace);
    bool fork_seen = false, exit_seen = false, mmap_seen = false;
    uint64_t faults = 0;
    for (const auto& e : events) {
      if (e["kind"] == "fork" && e["child_pid"] == child) fork_seen = !e["thread"].get<bool>();
      if (e["pid"] != child) continue;
      if (e["kind"] == "exit" && e["process"].get<bool>()) {
        exit_seen = true;
        EXPECT_EQ(e["status"], 7 << 8);
      }
      if (e["kind"] == "mmap" && e["ret"] == start) mmap_seen = true;
      if (e["kind"] == "fault" && e["addr"] >= start && e["addr"] < start + 16 * kPage) faults++;
    }
    EXPECT_TRUE(fork_seen);
    EXPECT_EQ(exit_seen, follow);
    EXPECT_EQ(mmap_seen, follow);
    EXPECT_EQ(faults, follow ? 16u : 0u);
  }
}

TEST(Record, ExitsWithTheCommandsStatus) {
  REQUIRE_ROOT();
  TempDir tmp;
  auto r = run({vmatrace(), "-o", tmp.path("t.vmt"), "--", "sh", "-c", "exit 3"});
  EXPECT_EQ(r.status, 3) << r.err;
  auto events = trace_events(tmp.path("t.vmt"));
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.front()["kind"], "exec") << "nothing before the command's exec";
  EXPECT_EQ(events.front()["filename"], in_path("sh")) << "the file execvp ran";
}

TEST(Record, StreamsEventsToStdoutWithoutOutputFile) {
  REQUIRE_ROOT();
  auto r = run({vmatrace(), "--json", "--", workload("faults"), "64"});
  ASSERT_EQ(r.status, 0) << r.err;
  auto lines = json_lines(r.out);
  std::map<std::string, int> kinds;
  for (const auto& l : lines)
    if (l.contains("kind")) kinds[l["kind"]]++;
  EXPECT_EQ(kinds["exec"], 1);
  EXPECT_GE(kinds["fault"], 64);
  EXPECT_GE(kinds["mmap"], 1);
  EXPECT_EQ(kinds["exit"], 1);

  auto text = run({vmatrace(), "--", workload("faults"), "8"});
  ASSERT_EQ(text.status, 0) << text.err;
  EXPECT_NE(text.out.find(" exec " + workload("faults")), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("mmap(NULL, 32768, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0x0) = 0x"),
            std::string::npos);
  EXPECT_NE(text.out.find("munmap(0xdead0000, 0) = -1 EINVAL (Invalid argument)"), std::string::npos);
}

TEST(Record, AttachesToARunningProcessAndStopsAfterDuration) {
  REQUIRE_ROOT();
  TempDir tmp;
  // The sleeper never exits: vmatrace must stop on -d alone (run() gives up
  // after its own timeout and returns -1 otherwise).
  Background target({workload("sleeper"), "5"});
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  auto trace = tmp.path("t.vmt");
  auto r = run({vmatrace(), "-p", std::to_string(target.pid()), "-o", trace, "-d", "1"});
  ASSERT_EQ(r.status, 0) << r.err;
  auto events = trace_events(trace);
  std::map<std::string, int> kinds;
  for (const auto& e : events) {
    EXPECT_EQ(e["pid"], target.pid());
    kinds[e["kind"]]++;
  }
  EXPECT_GE(kinds["mmap"], 10);
  EXPECT_GE(kinds["munmap"], 10);
  EXPECT_GE(kinds["fault"], 10);
  auto sum = trace_summary(trace);
  EXPECT_EQ(sum["target"]["pid"], target.pid());
  EXPECT_TRUE(sum["complete"].get<bool>());
  EXPECT_GE(sum["duration_s"].get<double>(), 1.0);
  // The header holds the target's VMAs at attach.
  auto text = run({vmatrace(), "report", trace});
  EXPECT_EQ(text.status, 0);
  EXPECT_NE(text.out.find("lost events: 0"), std::string::npos) << text.out;
  EXPECT_TRUE(attached_vmatrace_programs().empty());
}

TEST(Record, SigintEndsTracingCleanly) {
  REQUIRE_ROOT();
  TempDir tmp;
  Background target({workload("sleeper"), "5"});
  auto trace = tmp.path("t.vmt");
  Background rec({vmatrace(), "-p", std::to_string(target.pid()), "-o", trace}, true);
  ASSERT_TRUE(wait_for_file(trace));
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));
  rec.signal(SIGINT);
  EXPECT_EQ(rec.wait(), 0) << rec.err();
  auto sum = trace_summary(trace);
  EXPECT_TRUE(sum["complete"].get<bool>());
  EXPECT_GT(sum["events"]["mmap"].get<int>(), 0);
  struct stat st;
  ASSERT_EQ(stat(trace.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_TRUE(attached_vmatrace_programs().empty());
  // the target keeps running after vmatrace detaches
  EXPECT_EQ(kill(target.pid(), 0), 0);
}

TEST(Record, SigkilledRecorderLeavesAReadableTrace) {
  REQUIRE_ROOT();
  TempDir tmp;
  Background target({workload("sleeper"), "2"});
  auto trace = tmp.path("t.vmt");
  Background rec({vmatrace(), "-p", std::to_string(target.pid()), "-o", trace});
  ASSERT_TRUE(wait_for_file(trace));
  std::this_thread::sleep_for(std::chrono::milliseconds(2000));
  rec.signal(SIGKILL);
  rec.wait();
  auto r = run({vmatrace(), "report", trace, "--json"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.err.find("warning"), std::string::npos) << r.err;
  EXPECT_EQ(count_lines(r.err), 1) << r.err;
  auto sum = json::parse(r.out);
  EXPECT_FALSE(sum["complete"].get<bool>());
  EXPECT_GT(sum["events"]["mmap"].get<int>(), 0) << "at least one chunk per second was flushed";
  EXPECT_TRUE(attached_vmatrace_programs().empty()) << "the kernel detaches a killed recorder";
}

// minflt of a process, from /proc/PID/stat (field 10).
uint64_t minor_faults(pid_t pid) {
  std::string stat = read_file("/proc/" + std::to_string(pid) + "/stat");
  size_t at = stat.rfind(')');
  std::istringstream in(at == std::string::npos ? "" : stat.substr(at + 2));
  std::string field;
  for (int i = 3; i <= 10 && in >> field; i++) {
  }
  return std::strtoull(field.c_str(), nullptr, 10);
}

// Losses reach the file while recording, not only at a clean end: a killed
// recorder's trace still says what it could not record.
TEST(Record, SigkilledRecorderStillReportsWhatWasLost) {
  REQUIRE_ROOT();
  TempDir tmp;
  Background target({workload("storm"), "faults", "16", "1000000", "20"});
  auto trace = tmp.path("t.vmt");
  Background rec({vmatrace(), "-p", std::to_string(target.pid()), "-o", trace, "-b", "1", "--plain"});
  ASSERT_TRUE(wait_for_file(trace));
  // A stopped consumer lets the 1 MiB ring buffer (~20 k fault records)
  // overflow: wait until the target has faulted far more than that.
  rec.signal(SIGSTOP);
  const uint64_t start = minor_faults(target.pid());
  for (int i = 0; i < 1200 && minor_faults(target.pid()) < start + 100000; i++)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  ASSERT_GE(minor_faults(target.pid()), start + 100000) << "the storm did not fault";
  struct stat st {};
  stat(trace.c_str(), &st);
  const off_t before = st.st_size;
  rec.signal(SIGCONT);
  // Until a chunk written after the stop is on disk (the 1 s flush; slower
  // under emulation), then SIGKILL.
  for (int i = 0; i < 600 && stat(trace.c_str(), &st) == 0 && st.st_size == before; i++)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  ASSERT_GT(st.st_size, before) << "no chunk was flushed after the recorder resumed";
  // That chunk may have filled up while the recorder was still taking in
  // the ring's backlog, before it read the loss counters; the next flush
  // (a second later) holds them.
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  const off_t resumed = st.st_size;
  for (int i = 0; i < 600 && stat(trace.c_str(), &st) == 0 && st.st_size == resumed; i++)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  rec.signal(SIGKILL);
  rec.wait();
  auto r = run({vmatrace(), "report", trace, "--json"});
  ASSERT_EQ(r.status, 0) << r.err;
  auto sum = json::parse(r.out);
  EXPECT_FALSE(sum["complete"].get<bool>());
  EXPECT_GT(sum["lost_total"].get<uint64_t>(), 0u) << r.out;
  EXPECT_GT(sum["lost"]["fault_shed"].get<uint64_t>() + sum["lost"]["fault"].get<uint64_t>(), 0u) << r.out;
}

}  // namespace
}  // namespace e2e
