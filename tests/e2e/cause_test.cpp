// Why each storm happened, end to end: a workload per cause traced by the
// real vmatrace, its storm diagnosed with the right cause, process and
// evidence (what the workload says it did); a storm of two causes with their
// shares; call chains with --stacks; the live view naming a running storm.
#include <algorithm>
#include <sstream>

#include "harness.h"

namespace e2e {
namespace {

struct Traced {
  TempDir tmp;
  std::string trace;
  json truth;    // the workload's own JSON line
  json summary;  // report --json
  uint32_t pid = 0;
};

// Runs `vmatrace OPTS -o TRACE -- WORKLOAD ARGS` and reads the trace back,
// with storm rules that find the workload's storms of about `faults` faults
// however slow this machine made them (see storm_rules_for()).
void trace_workload(Traced* t, const std::vector<std::string>& opts, const std::vector<std::string>& workload_argv,
                    uint64_t faults, std::vector<std::string> report_args = {}) {
  t->trace = t->tmp.path("t.vmt");
  std::vector<std::string> argv = {vmatrace()};
  argv.insert(argv.end(), opts.begin(), opts.end());
  argv.insert(argv.end(), {"-o", t->trace, "--"});
  argv.insert(argv.end(), workload_argv.begin(), workload_argv.end());
  auto r = run(argv);
  ASSERT_EQ(r.status, 0) << r.err;
  auto lines = json_lines(r.out);
  ASSERT_EQ(lines.size(), 1u) << r.out;
  t->truth = lines[0];
  for (auto& a : storm_rules_for(t->truth, faults)) report_args.push_back(a);
  t->summary = trace_summary(t->trace, report_args);
  t->pid = t->summary["target"]["pid"].get<uint32_t>();
}

// The storms whose main cause is kind (in pid, if given), earliest first,
// each checked to have at least min_share of that. A stall of this shared
// machine can split a storm, or leave a slow stretch of it below the storm
// rate: counts are summed over the storms and bounded by what the workload
// did, not equal to it.
std::vector<const json*> storms_of(const json& summary, const std::string& kind, uint32_t pid = 0,
                                   double min_share = 0.9) {
  std::vector<const json*> out;
  for (const json& s : summary["storms"])
    if (!s["cause"].empty() && s["cause"][0]["kind"] == kind && (!pid || s["cause"][0]["pid"] == pid)) {
      EXPECT_GE(s["cause"][0]["share"].get<double>(), min_share) << s.dump(2);
      out.push_back(&s);
    }
  EXPECT_FALSE(out.empty()) << "no storm caused by " << kind << ":\n" << summary["storms"].dump(2);
  std::sort(out.begin(), out.end(), [](const json* a, const json* b) { return (*a)["start_s"] < (*b)["start_s"]; });
  return out;
}

const json* storm_of(const json& summary, const std::string& kind, uint32_t pid = 0) {
  auto all = storms_of(summary, kind, pid);
  return all.empty() ? nullptr : all[0];
}

// A main cause's field (a count) over those storms; path: "faults", "vma/faults".
uint64_t sum_of(const std::vector<const json*>& storms, const std::string& path) {
  uint64_t n = 0;
  for (const json* s : storms) n += (*s)["cause"][0][json::json_pointer("/" + path)].get<uint64_t>();
  return n;
}

// Most of what the workload did, and never more.
#define EXPECT_MOST_OF(n, all)      \
  do {                              \
    EXPECT_LE((n), (all));          \
    EXPECT_GE((n) * 10, (all) * 9); \
  } while (0)

const json* cause_in(const json& storm, const std::string& kind) {
  for (const json& c : storm["cause"])
    if (c["kind"] == kind) return &c;
  ADD_FAILURE() << "no " << kind << " in " << storm["cause"].dump(2);
  return nullptr;
}

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

TEST(Causes, FirstTouchNamesTheMmapThatMadeTheMemory) {
  REQUIRE_ROOT();
  Traced t;
  trace_workload(&t, {}, {workload("stormy"), "64", "500"}, 16384);
  auto all = storms_of(t.summary, "first_touch");
  ASSERT_FALSE(all.empty());
  const json* s = all[0];
  const json& c = (*s)["cause"][0];
  EXPECT_EQ(c["pid"], t.pid);
  EXPECT_EQ(c["vma"]["start"], t.truth["start"]);
  EXPECT_EQ(c["vma"]["end"], t.truth["end"]);
  EXPECT_MOST_OF(sum_of(all, "vma/faults"), 16384u);
  EXPECT_EQ(c["vma"]["perms"], "rw-p");
  EXPECT_EQ(c["vma"]["made_by"]["by"], "mmap");
  EXPECT_LT(c["vma"]["made_by"]["at_s"].get<double>(), (*s)["start_s"].get<double>()) << "mapped before the quiet";
  EXPECT_EQ(c["write"], c["faults"]);
  EXPECT_EQ(c["after_read"], 0) << "this machine has no zero page to copy";
  ASSERT_FALSE((*s)["pids"].empty());
  EXPECT_EQ((*s)["pids"][0]["pid"], t.pid);
  EXPECT_TRUE(ends_with((*s)["pids"][0]["command"], "/stormy")) << (*s)["pids"][0];
  EXPECT_TRUE((*s)["pids"][0]["parent"].is_null()) << "the target's parent is not in the trace";
}

TEST(Causes, CopyOnWriteInTheForkedChildNamesTheFork) {
  REQUIRE_ROOT();
  Traced t;
  trace_workload(&t, {"--follow-children"}, {workload("cow_fork"), "64", "400"}, 16384);
  const uint32_t parent = t.truth["parent"], child = t.truth["child"];
  ASSERT_EQ(parent, t.pid);
  // The parent's fill, before the fork: first touch.
  const json* fill = storm_of(t.summary, "first_touch", parent);
  ASSERT_TRUE(fill);
  EXPECT_EQ((*fill)["cause"][0]["vma"]["start"], t.truth["start"]);
  // The child's rewrite: copy-on-write, behind the fork.
  auto all = storms_of(t.summary, "cow_after_fork", child);
  ASSERT_FALSE(all.empty());
  const json* s = all[0];
  const json& c = (*s)["cause"][0];
  EXPECT_EQ(c["parent"], parent);
  EXPECT_TRUE(ends_with(c["command"], "/cow_fork")) << c["command"];
  EXPECT_EQ(c["fork"]["parent"], parent);
  EXPECT_EQ(c["fork"]["child"], child);
  EXPECT_GT(c["fork"]["at_s"].get<double>(), (*fill)["start_s"].get<double>() + (*fill)["duration_s"].get<double>());
  EXPECT_LT(c["fork"]["at_s"].get<double>(), (*s)["start_s"].get<double>() + (*s)["duration_s"].get<double>());
  EXPECT_EQ(c["vma"]["start"], t.truth["start"]);
  EXPECT_EQ(c["vma"]["end"], t.truth["end"]);
  EXPECT_MOST_OF(sum_of(all, "vma/faults"), 16384u);  // every page rewritten once
  EXPECT_EQ(c["write"], c["faults"]);
  EXPECT_EQ((*s)["pids"][0]["pid"], child);
  EXPECT_EQ((*s)["pids"][0]["parent"], parent);

  // The text report leads the storm with it.
  std::vector<std::string> argv = {vmatrace(), "report", t.trace};
  for (auto& a : storm_rules_for(t.truth, 16384)) argv.push_back(a);
  auto text = run(argv);
  ASSERT_EQ(text.status, 0) << text.err;
  std::string lead = "copy-on-write after fork (";
  size_t at = text.out.find(lead);
  ASSERT_NE(at, std::string::npos) << text.out;
  std::string line = text.out.substr(text.out.rfind('\n', at) + 1);
  line = line.substr(0, line.find('\n'));
  EXPECT_EQ(line.rfind("  #", 0), 0u) << "the storm's first line: " << line;
  EXPECT_NE(line.find("in pid " + std::to_string(child) + " (cow_fork), forked from " + std::to_string(parent) + " at "),
            std::string::npos)
      << line;
  char range[64];
  snprintf(range, sizeof(range), "%lx-%lx", t.truth["start"].get<unsigned long>(), t.truth["end"].get<unsigned long>());
  EXPECT_NE(line.find(" write faults on present pages of private [anon] " + std::string(range)), std::string::npos)
      << line;
}

TEST(Causes, PageCacheMissesNameTheFileAndItsSize) {
  REQUIRE_ROOT();
  Traced t;
  const std::string file = t.tmp.path("data");
  trace_workload(&t, {}, {workload("pagecache"), file, "16", "600", "4"}, 4096);
  auto all = storms_of(t.summary, "page_cache_miss");
  ASSERT_FALSE(all.empty());
  const json& c = (*all[0])["cause"][0];
  EXPECT_EQ(c["pid"], t.pid);
  EXPECT_EQ(c["file"], file);
  EXPECT_EQ(c["mapped_bytes"], t.truth["size"]);
  EXPECT_EQ(c["vma"]["start"], t.truth["start"]);
  EXPECT_MOST_OF(sum_of(all, "faults"), 4096u);  // readahead off: a major fault per page
  EXPECT_EQ(c["major"], c["faults"]);
  EXPECT_EQ(c["read"], c["faults"]);
}

TEST(Causes, ProtectionFlipsNameTheMprotectCallsAndTheRefusedAccesses) {
  REQUIRE_ROOT();
  Traced t;
  trace_workload(&t, {}, {workload("protflip"), "64", "400"}, 16384);
  auto all = storms_of(t.summary, "protection_change");
  ASSERT_FALSE(all.empty());
  const json& c = (*all[0])["cause"][0];
  const uint64_t pages = t.truth["pages"], start = t.truth["start"], end = t.truth["end"];
  EXPECT_EQ(c["pid"], t.pid);
  EXPECT_MOST_OF(sum_of(all, "faults"), pages);
  // Each page: refused, opened by its own call, retried.
  EXPECT_EQ(sum_of(all, "mprotect_calls"), sum_of(all, "faults"));
  EXPECT_EQ(sum_of(all, "refused"), sum_of(all, "faults"));
  EXPECT_EQ(c["vma"]["start"], start);
  ASSERT_TRUE(c.contains("mprotect")) << c;
  EXPECT_EQ(c["mprotect"]["call"], "mprotect");
  EXPECT_GE(c["mprotect"]["addr"].get<uint64_t>(), start) << "one page's call";
  EXPECT_EQ(c["mprotect"]["addr"].get<uint64_t>() % 4096, 0u);
  EXPECT_EQ(c["mprotect"]["len"], 4096);
  EXPECT_EQ(c["mprotect"]["prot"], 3) << "PROT_READ|PROT_WRITE";
  EXPECT_EQ(c["mprotect"]["pid"], t.pid);
  EXPECT_LT(c["mprotect"]["addr"].get<uint64_t>(), end);
}

TEST(Causes, CodePageInNamesTheExecutableFile) {
  REQUIRE_ROOT();
  Traced t;
  const std::string file = t.tmp.path("code.bin");
  // Instruction fetches read ahead 64 KiB around each fault: 32 MiB gives
  // ~500 faults (small enough for an emulated guest's disk), a storm here.
  trace_workload(&t, {}, {workload("codepage"), file, "32", "600"}, 512, {"--storm-min-faults", "100"});
  const json* s = storm_of(t.summary, "code_page_in");
  ASSERT_TRUE(s);
  const json& c = (*s)["cause"][0];
  EXPECT_EQ(c["pid"], t.pid);
  EXPECT_EQ(c["file"], file);
  EXPECT_EQ(c["mapped_bytes"], t.truth["size"]);
  EXPECT_EQ(c["vma"]["start"], t.truth["start"]);
  EXPECT_EQ(c["vma"]["perms"], "r-xp");
  EXPECT_EQ(c["exec"], c["faults"]);
  EXPECT_GT(sum_of(storms_of(t.summary, "code_page_in"), "major"), 0u)
      << "dropped from the page cache: some fault reads it";
}

TEST(Causes, AMixedStormGetsBothCausesWithTheirShares) {
  REQUIRE_ROOT();
  Traced t;
  // The child rewrites 8,192 inherited pages and touches 4,096 fresh ones, interleaved.
  trace_workload(&t, {"--follow-children"}, {workload("cow_fork"), "32", "400", "16"}, 12288);
  const uint32_t child = t.truth["child"];
  uint64_t cow_faults = 0, touch_faults = 0;
  for (const json* s : storms_of(t.summary, "cow_after_fork", child, 0.6)) {
    const json* cow = cause_in(*s, "cow_after_fork");
    const json* touch = cause_in(*s, "first_touch");
    ASSERT_TRUE(cow && touch);
    EXPECT_NEAR((*cow)["share"].get<double>(), 2.0 / 3, 0.03) << s->dump(2);
    EXPECT_NEAR((*touch)["share"].get<double>(), 1.0 / 3, 0.03) << s->dump(2);
    EXPECT_EQ((*cow)["vma"]["start"], t.truth["start"]);
    EXPECT_EQ((*touch)["pid"], child);
    EXPECT_EQ((*touch)["vma"]["start"], t.truth["fresh_start"]);
    EXPECT_EQ((*touch)["vma"]["end"], t.truth["fresh_end"]);
    EXPECT_EQ((*touch)["vma"]["made_by"]["by"], "mmap") << "the child's own mmap";
    EXPECT_NE((*s)["diagnosis"].get<std::string>().find("; also first touch 3"), std::string::npos)
        << (*s)["diagnosis"];
    cow_faults += (*cow)["vma"]["faults"].get<uint64_t>();
    touch_faults += (*touch)["vma"]["faults"].get<uint64_t>();
  }
  EXPECT_MOST_OF(cow_faults, 8192u);
  EXPECT_MOST_OF(touch_faults, 4096u);
}

TEST(Causes, EachCauseNamesItsTopCallChain) {
  REQUIRE_ROOT();
  Traced t;
  trace_workload(&t, {"--follow-children", "--stacks", "--stack-every", "2"}, {workload("cow_fork"), "16", "400"},
                 4096);
  const uint32_t parent = t.truth["parent"], child = t.truth["child"];
  const json* cow = storm_of(t.summary, "cow_after_fork", child);
  const json* fill = storm_of(t.summary, "first_touch", parent);
  ASSERT_TRUE(cow && fill);
  // storms_of() checked that sampled faults keep their cause (the stack
  // walk must not hide it).
  for (const json* s : {cow, fill}) {
    const json& c = (*s)["cause"][0];
    ASSERT_TRUE(c.contains("stack")) << c;
    ASSERT_GE(c["stack"].size(), 2u) << c["stack"];
    EXPECT_EQ(c["stack"][1], "main (cow_fork)") << "the caller, not only the leaf";
    EXPECT_GT(c["stack_faults"].get<uint64_t>(), 0u);
    EXPECT_LE(c["stack_faults"].get<uint64_t>(), c["faults"].get<uint64_t>());
  }
  EXPECT_EQ((*cow)["cause"][0]["stack"][0], "rewrite (cow_fork)");
  EXPECT_EQ((*fill)["cause"][0]["stack"][0], "fill (cow_fork)");
  std::vector<std::string> argv = {vmatrace(), "report", t.trace};
  for (auto& a : storm_rules_for(t.truth, 4096)) argv.push_back(a);
  auto text = run(argv);
  EXPECT_NE(text.out.find("stack  rewrite (cow_fork) <- main (cow_fork) <- "), std::string::npos) << text.out;
}

TEST(Causes, TheLiveViewShowsTheCauseOfARunningStorm) {
  REQUIRE_ROOT();
  TempDir tmp;
  // 3 s of calm, then 256 MiB of fresh pages; a summary every 0.1 s.
  auto r = run({vmatrace(), "-i", "0.1", "-o", tmp.path("t.vmt"), "--", workload("stormy"), "256", "3000"});
  ASSERT_EQ(r.status, 0) << r.err;
  const uint32_t pid = trace_summary(tmp.path("t.vmt"))["target"]["pid"];
  std::istringstream in(r.out);
  std::string line, storm;
  while (std::getline(in, line))
    if (line.find("STORM since ") != std::string::npos) storm = line;
  ASSERT_FALSE(storm.empty()) << r.out;
  EXPECT_NE(storm.find(": first touch "), std::string::npos) << storm;
  EXPECT_NE(storm.find("% in pid " + std::to_string(pid) + " (stormy)"), std::string::npos) << storm;
}

}  // namespace
}  // namespace e2e
