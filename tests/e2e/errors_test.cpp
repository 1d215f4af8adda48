// Bad input: one clear line on stderr, a non-zero exit, nothing left behind.
#include <sys/stat.h>
#include <sys/wait.h>

#include "harness.h"

namespace e2e {
namespace {

void expect_one_line_error(const RunResult& r, int status, const std::string& needle) {
  EXPECT_EQ(r.status, status) << r.err;
  EXPECT_EQ(count_lines(r.err), 1) << r.err;
  EXPECT_NE(r.err.find(needle), std::string::npos) << r.err;
  EXPECT_EQ(r.err.rfind("vmatrace: ", 0), 0u) << r.err;
}

bool exists(const std::string& p) {
  struct stat st;
  return stat(p.c_str(), &st) == 0;
}

TEST(Errors, BadArguments) {
  expect_one_line_error(run({vmatrace()}), 2, "either -p PID or -- COMMAND");
  expect_one_line_error(run({vmatrace(), "-p", "1", "--", "true"}), 2, "either -p PID or -- COMMAND");
  expect_one_line_error(run({vmatrace(), "-p", "abc"}), 2, "--pid");
  expect_one_line_error(run({vmatrace(), "-d", "-1", "--", "true"}), 2, "--duration");
  expect_one_line_error(run({vmatrace(), "-b", "3", "--", "true"}), 2, "power of two");
  expect_one_line_error(run({vmatrace(), "--bogus"}), 2, "bogus");
  expect_one_line_error(run({vmatrace(), "report"}), 2, "file");
  expect_one_line_error(run({"/usr/bin/env", "VMATRACE_WITHOUT=syscall_fentry,bogus", vmatrace(), "--", "true"}), 2,
                        "VMATRACE_WITHOUT: no optional feature is called bogus");
}

// Every numeric option: finite, bounded, and a short message (never DBL_MAX
// written out in full); exit 2 before anything is attached or read.
TEST(Errors, NumericOptionsAreFiniteAndBounded) {
  const std::vector<std::vector<std::string>> bad = {
      {"-d", "nan"}, {"-d", "inf"}, {"-d", "1e30"}, {"-d", "2e10"}, {"-d", "0"}, {"-d", "-1"}, {"-d", "5s"},
      {"-i", "nan"}, {"-i", "0"}, {"-i", "1e300"}, {"-p", "0"}, {"-p", "99999999999"}, {"-p", "nan"}};
  for (const auto& args : bad) {
    std::vector<std::string> argv = {vmatrace()};
    argv.insert(argv.end(), args.begin(), args.end());
    if (args[0] != "-p") argv.insert(argv.end(), {"--", "true"});
    auto r = run(argv);
    expect_one_line_error(r, 2, args[0] == "-p" ? "--pid" : args[0] == "-d" ? "--duration" : "--interval");
    EXPECT_LT(r.err.size(), 120u) << r.err;
  }
  const std::vector<std::vector<std::string>> bad_report = {
      {"--from", "nan"}, {"--from", "-1"}, {"--to", "inf"},  {"--at", "1e30"},
      {"--storm-threshold", "nan"}, {"--storm-threshold", "0"}, {"--storm-threshold", "1e300"}, {"--pid", "0"},
      {"--storm-min-rate", "-1"}, {"--storm-min-rate", "inf"}, {"--storm-min-faults", "0"}};
  for (const auto& args : bad_report) {
    auto r = run({vmatrace(), "report", "no-such.vmt", args[0], args[1]});
    expect_one_line_error(r, 2, args[0]);
    EXPECT_LT(r.err.size(), 120u) << r.err;
  }
}

TEST(Errors, AWindowFarPastTheTraceEnds) {
  REQUIRE_ROOT();
  TempDir tmp;
  auto trace = tmp.path("t.vmt");
  ASSERT_EQ(run({vmatrace(), "-o", trace, "--", "true"}).status, 0);
  // Far from zero, adding a tick step stopped moving the tick: the report never ended.
  auto r = run({vmatrace(), "report", trace, "--heatmap", tmp.path("h.svg"), "--from", "1000000"}, 60);
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(read_file(tmp.path("h.svg")).find("no faults in this window"), std::string::npos);
}

TEST(Errors, UnreadableOrCorruptTraceFiles) {
  TempDir tmp;
  expect_one_line_error(run({vmatrace(), "report", tmp.path("missing.vmt")}), 1, "cannot open");
  std::string junk = tmp.path("junk.vmt");
  FILE* f = fopen(junk.c_str(), "w");
  fputs("definitely not a trace\n", f);
  fclose(f);
  expect_one_line_error(run({vmatrace(), "report", junk}), 1, "not a vmatrace trace file");
  expect_one_line_error(run({vmatrace(), "report", tmp.path("")}), 1, "vmatrace");
}

TEST(Errors, NotRoot) {
  REQUIRE_ROOT();  // needs root to drop to another user
  auto r = run({"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", vmatrace(), "--", "true"});
  expect_one_line_error(r, 1, "must run as root");
}

TEST(Errors, NoSuchProcess) {
  REQUIRE_ROOT();
  expect_one_line_error(run({vmatrace(), "-p", "4000000"}), 1, "no such process: 4000000");
  // A zombie has no address space left to trace.
  pid_t z = fork();
  if (z == 0) _exit(0);
  usleep(100000);
  expect_one_line_error(run({vmatrace(), "-p", std::to_string(z)}), 1, "no such process");
  waitpid(z, nullptr, 0);
  expect_one_line_error(run({vmatrace(), "-p", "2"}), 1, "kernel thread");  // kthreadd
  EXPECT_TRUE(attached_vmatrace_programs().empty());
}

TEST(Errors, UnwritableOutputLeavesNothing) {
  REQUIRE_ROOT();
  TempDir tmp;
  expect_one_line_error(run({vmatrace(), "-o", tmp.path("no/such/dir/t.vmt"), "--", "true"}), 1,
                        "cannot create");
  expect_one_line_error(run({vmatrace(), "-o", "/proc/version", "--", "true"}), 1, "cannot create");
}

TEST(Errors, CommandThatCannotRunLeavesNoFile) {
  REQUIRE_ROOT();
  TempDir tmp;
  auto trace = tmp.path("t.vmt");
  expect_one_line_error(run({vmatrace(), "-o", trace, "--", "/no/such/program"}), 1,
                        "cannot run the command: No such file or directory");
  EXPECT_FALSE(exists(trace));
  EXPECT_TRUE(attached_vmatrace_programs().empty());
}

TEST(Errors, FullDiskStopsWithAnErrorAndAReadableTrace) {
  REQUIRE_ROOT();
  TempDir tmp;
  std::string mnt = tmp.path("small");
  ASSERT_EQ(mkdir(mnt.c_str(), 0700), 0);
  // A 512 KiB file system: a chunk or two of a fault storm fit, the storm does not.
  ASSERT_EQ(run({"mount", "-t", "tmpfs", "-o", "size=512k", "tmpfs", mnt}).status, 0);
  auto trace = mnt + "/t.vmt";
  auto r = run({vmatrace(), "-o", trace, "--", workload("faults"), "400000"});
  auto report = run({vmatrace(), "report", trace, "--json"});
  run({"umount", mnt});
  expect_one_line_error(r, 1, "No space left on device");
  EXPECT_EQ(report.status, 0) << report.err;
  EXPECT_NE(report.err.find("warning"), std::string::npos) << "the cut is reported: " << report.err;
  auto j = json::parse(report.out, nullptr, false);
  ASSERT_FALSE(j.is_discarded());
  EXPECT_FALSE(j["complete"].get<bool>());
  EXPECT_GT(j["faults"]["total"].get<uint64_t>(), 0u) << "what fitted reads back";
  EXPECT_TRUE(attached_vmatrace_programs().empty());
}

TEST(Errors, CheckDescribesThisKernel) {
  REQUIRE_ROOT();
  auto r = run({vmatrace(), "check"});
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("perf sw events page-faults-min/-maj"), std::string::npos);
  EXPECT_NE(r.out.find("vmatrace can trace here"), std::string::npos);
}

}  // namespace
}  // namespace e2e
