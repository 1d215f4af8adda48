// Regressions of the BPF side itself: what the programs record when the
// kernel makes their job awkward.
#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>

#include <fstream>
#include <map>
#include <set>

#include "harness.h"

namespace e2e {
namespace {

constexpr uint64_t kPage = 4096;

// bpf_get_stackid walks the user stack with faults of its own
// (copy_from_user_nofault): they must neither be recorded nor cost the fault
// that is being sampled its entry (access type, latency).
TEST(KernelSide, StackSamplingKeepsEverySampledFaultWhole) {
  REQUIRE_ROOT();
  TempDir tmp;
  auto trace = tmp.path("t.vmt");
  const uint64_t pages = 4096;
  auto r = run({vmatrace(), "--stacks", "--stack-every", "1", "-o", trace, "--", workload("faults"),
                std::to_string(pages)});
  ASSERT_EQ(r.status, 0) << r.err;
  auto truth = json_lines(r.out);
  ASSERT_EQ(truth.size(), 1u) << r.out;
  const json& t = truth[0];
  bool entry_known = kernel_has("fault_tracepoints");
  uint64_t faults = 0, sampled = 0;
  std::map<uint64_t, int> pages_seen;
  auto events = trace_events(trace);
  ASSERT_FALSE(events.empty());
  for (const auto& e : between_markers(events, events.front()["pid"])) {
    if (e["kind"] != "fault") continue;
    faults++;
    EXPECT_TRUE(e["complete"].get<bool>()) << e.dump();
    EXPECT_FALSE(e["in_kernel"].get<bool>()) << "the stack walk's own fault was recorded: " << e.dump();
    uint64_t a = e["addr"];
    if (a >= t["anon_start"] && a < t["anon_end"]) pages_seen[a / kPage]++;
    if (entry_known) {
      EXPECT_EQ(e["access"], "write") << e.dump();
      EXPECT_TRUE(e.contains("latency_ns")) << e.dump();
    }
    sampled += e.contains("stack_id");
  }
  EXPECT_EQ(faults, t["minflt"].get<uint64_t>() + t["majflt"].get<uint64_t>());
  EXPECT_EQ(pages_seen.size(), pages);
  EXPECT_GT(sampled, pages / 2) << "one fault in 1 sampled (stack ids can fail, not most)";
  auto sum = trace_summary(trace);
  EXPECT_EQ(sum["faults"]["incomplete"], 0);
  EXPECT_EQ(sum["lost_total"], 0);
}

// The bytes the BPF path walk needs for path: each component and its NUL.
size_t walk_bytes(const std::string& path) {
  size_t n = 0, at = 0;
  while (at < path.size()) {
    size_t end = path.find('/', at);
    if (end == std::string::npos) end = path.size();
    if (end > at) n += end - at + 1;
    at = end + 1;
  }
  return n;
}

// Directories under dir until the path of a file `leaf` in them takes
// exactly `bytes` bytes in the walk.
std::string deep_file(const std::string& dir, const std::string& leaf, size_t bytes) {
  std::string path = dir;
  size_t have = walk_bytes(dir) + leaf.size() + 1;
  EXPECT_LT(have + 3, bytes) << "the temp dir is too deep for this test";
  while (have < bytes) {
    size_t left = bytes - have;
    size_t n = left > 201 ? 200 : left - 1;  // n characters and a NUL
    if (left > 201 && left - 201 < 2) n = 150;  // never leave a component of 0 characters
    path += "/" + std::string(n, 'd');
    EXPECT_EQ(mkdir(path.c_str(), 0700), 0) << path;
    have += n + 1;
  }
  return path + "/" + leaf;
}

// The path the trace gives for the VMA of the workload's mapping of path.
std::string recorded_path(const std::string& path) {
  TempDir tmp;
  auto trace = tmp.path("t.vmt");
  auto r = run({vmatrace(), "-o", trace, "--", workload("faults"), "16", path});
  EXPECT_EQ(r.status, 0) << r.err;
  const std::string leaf = path.substr(path.rfind('/'));
  for (const auto& e : trace_events(trace)) {
    if (e["kind"] != "mmap" || !e.contains("vma") || e["vma"]["inode"] == 0) continue;
    std::string p = e["vma"]["path"];
    if (p.size() >= leaf.size() && p.compare(p.size() - leaf.size(), leaf.size(), leaf) == 0) return p;
  }
  ADD_FAILURE() << "no mmap of " << path << " in the trace";
  return "";
}

// Long paths come whole from the kernel, and one longer than a record holds
// is never cut silently: it is looked up in /proc, or shown as cut ("...").
TEST(KernelSide, MappedFilesKeepTheirWholeNameOrSayItWasCut) {
  REQUIRE_ROOT();
  TempDir tmp;
  std::string dir = tmp.path("a"), other = tmp.path("b");
  ASSERT_EQ(mkdir(dir.c_str(), 0700), 0);
  ASSERT_EQ(mkdir(other.c_str(), 0700), 0);
  auto medium = deep_file(other, "medium", 700);
  EXPECT_EQ(recorded_path(medium), medium);

  // The top-most component ends 2 bytes past VT_PATH_MAX: the walk's last
  // step before the root spills (it used to end there without a word).
  std::string top = dir.substr(1, dir.find('/', 1) - 1);
  auto cut = deep_file(dir, "cut", 1024 + 2);
  std::string got = recorded_path(cut);
  if (got != cut) {
    EXPECT_EQ(got.rfind(".../", 0), 0u) << "a cut path must say so: " << got;
    // After the cut component, the rest is the real path's tail.
    std::string tail = got.substr(got.find('/', 4));
    ASSERT_GT(tail.size(), 1u) << got;
    EXPECT_EQ(cut.substr(cut.size() - tail.size()), tail) << got;
  }
}


// The names (as the kernel keeps them: 15 characters) of the BPF programs
// process pid holds, found through its own file descriptors: other vmatrace
// instances on the machine do not count.
std::set<std::string> programs_held_by(pid_t pid) {
  std::set<std::string> names;
  std::string dir = "/proc/" + std::to_string(pid) + "/fdinfo";
  DIR* d = opendir(dir.c_str());
  if (!d) return names;
  while (dirent* ent = readdir(d)) {
    std::ifstream in(dir + "/" + ent->d_name);
    std::string line;
    while (std::getline(in, line)) {
      if (line.rfind("prog_id:", 0) != 0) continue;
      auto r = run({"bpftool", "-j", "prog", "show", "id", line.substr(line.find_first_not_of(" \t", 8))});
      if (r.status == 0) names.insert(json::parse(r.out).value("name", ""));
    }
  }
  closedir(d);
  return names;
}

size_t count_prefixed(const std::set<std::string>& names, const std::string& prefix) {
  size_t n = 0;
  for (const auto& name : names) n += name.rfind(prefix, 0) == 0;
  return n;
}

// The BPF programs a recording with these options holds while it traces a
// sleeping process (it then ends with SIGINT and leaves its trace).
std::set<std::string> programs_tracing_a_sleeper(const std::vector<std::string>& options, const std::string& trace) {
  Background sleeper({workload("sleeper"), "50"});
  std::vector<std::string> argv = {vmatrace(), "-p", std::to_string(sleeper.pid()), "-o", trace};
  argv.insert(argv.end(), options.begin(), options.end());
  Background rec(argv, true);
  // Loading 21 fexit programs takes ~10 s in an emulated guest, more when it is starved.
  EXPECT_TRUE(wait_for_file(trace, 300000)) << rec.err();
  auto names = programs_held_by(rec.pid());
  rec.signal(SIGINT);
  EXPECT_EQ(rec.wait(), 0) << rec.err();
  return names;
}

std::string joined(const std::set<std::string>& names) {
  std::string all;
  for (const auto& n : names) all += n + " ";
  return all;
}

// Syscalls come in through the best hook this kernel allows: fentry/fexit on
// the syscall functions, else per-syscall tracepoints, else the raw ones that
// run for every syscall of every process. --without steps down one at a time.
TEST(KernelSide, SyscallsComeInThroughTheBestHookTheKernelAllows) {
  REQUIRE_ROOT();
  const bool fentry = kernel_has("syscall_fentry"), tracepoints = kernel_has("syscall_tracepoints");
  for (std::string without : {"", "syscall_fentry", "syscall_fentry,syscall_tracepoints"}) {
    SCOPED_TRACE("--without " + without);
    const bool want_fe = fentry && without.empty();
    const bool want_tp = !want_fe && tracepoints && without.find("syscall_tracepoints") == std::string::npos;
    TempDir tmp;
    auto trace = tmp.path("t.vmt");
    std::vector<std::string> options;
    if (!without.empty()) options = {"--without", without};
    auto names = programs_tracing_a_sleeper(options, trace);
    const std::string all = joined(names);
    // Every address-space syscall this kernel has (21 on 6.10+, mseal is new there), or
    // the two raw hooks.
    EXPECT_EQ(count_prefixed(names, "fe_enter_") >= 20, want_fe) << all;
    EXPECT_EQ(count_prefixed(names, "fe_exit_") >= 20, want_fe) << all;
    EXPECT_EQ(count_prefixed(names, "tp_enter_") >= 20, want_tp) << all;
    EXPECT_EQ(count_prefixed(names, "on_sys_enter") + count_prefixed(names, "on_sys_exit") == 2, !want_fe && !want_tp)
        << all;
    EXPECT_EQ(trace_summary(trace)["syscall_hook"], want_fe ? "fentry" : want_tp ? "tracepoints" : "raw");
  }
}

// Opt-in: the mmap_lock hook replaces every syscall hook, so that no other
// process's syscall runs vmatrace's code or the tracepoints' slow path.
TEST(KernelSide, TheMmapLockHookReplacesEverySyscallHook) {
  REQUIRE_ROOT();
  if (!mmap_lock_hook_usable()) return expect_mmap_lock_hook_refused();
  TempDir tmp;
  auto trace = tmp.path("t.vmt");
  auto names = programs_tracing_a_sleeper({"--mmap-lock-hook"}, trace);
  const std::string all = joined(names);
  EXPECT_EQ(names.count("lk_write_locked"), 1u) << all;
  for (const char* family : {"fe_", "tp_", "on_sys_"}) EXPECT_EQ(count_prefixed(names, family), 0u) << all;
  auto sum = trace_summary(trace);
  EXPECT_EQ(sum["lost_total"], 0);
  EXPECT_EQ(sum["syscall_hook"], "mmap_lock") << "the trace says where its syscalls were caught";
}

}  // namespace
}  // namespace e2e
