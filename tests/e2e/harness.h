// Helpers for end-to-end tests: run vmatrace and workloads as real
// processes, read traces back through vmatrace's own CLI.
#pragma once

#include <gtest/gtest.h>
#include <sys/types.h>
#include <unistd.h>

#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace e2e {

using nlohmann::json;

// These tests load real BPF programs: without root they cannot run. In CI
// that is a failure, never a silent skip.
#define REQUIRE_ROOT()                                                          \
  do {                                                                          \
    if (geteuid() != 0) {                                                       \
      if (std::getenv("CI")) FAIL() << "e2e tests must run as root in CI";      \
      GTEST_SKIP() << "e2e tests need root (they load BPF programs)";           \
    }                                                                           \
  } while (0)

struct RunResult {
  int status = -1;  // exit code, 128+signal, or -1 on timeout
  std::string out, err;
};

RunResult run(const std::vector<std::string>& argv, int timeout_s = 120);

// A process running in the background; killed and reaped on destruction.
class Background {
 public:
  explicit Background(const std::vector<std::string>& argv, bool capture_stderr = false);
  ~Background();
  pid_t pid() const { return pid_; }
  void signal(int sig);
  // Waits for exit; returns the shell-style status, -1 on timeout.
  int wait(int timeout_s = 60);
  std::string err() const;

 private:
  pid_t pid_ = -1;
  bool reaped_ = false;
  int status_ = -1;
  std::string err_path_;
};

std::string vmatrace();
// Where execvp finds program in $PATH ("" if nowhere).
std::string in_path(const std::string& program);
std::string workload(const std::string& name);

// A fresh directory on a real disk (major faults need real I/O), removed at the end.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  std::string path(const std::string& name) const { return dir_ + "/" + name; }

 private:
  std::string dir_;
};

std::vector<json> json_lines(const std::string& text);
// `vmatrace report FILE --events --json`, parsed.
std::vector<json> trace_events(const std::string& file);
json trace_summary(const std::string& file, const std::vector<std::string>& report_args = {});
// `report` options that find a workload's storm of `faults` faults on this
// machine: where the workload's own rate (faults over its JSON line's
// storm_ms) is too slow for the default rules — an emulated guest — a rate
// floor of an eighth of that rate, and rules that keep the pieces a stall
// cuts. None where the defaults hold.
std::vector<std::string> storm_rules_for(const json& truth, uint64_t faults);
std::string read_file(const std::string& path);

// The events of pid strictly between the last begin marker and the end marker after it.
std::vector<json> between_markers(const std::vector<json>& events, uint32_t pid);

int count_lines(const std::string& s);
// A trace file appears once vmatrace has attached: wait for it. A bound, not
// a timing: an emulated guest attaching fentry's 43 trampolines beside a
// loaded host took over 20 s.
bool wait_for_file(const std::string& path, int timeout_ms = 120000);
// Whether vmatrace uses this optional feature on this kernel (`vmatrace check
// --json`): tests of what a feature gives run their degraded variant without it.
bool kernel_has(const std::string& feature);

// Whether `vmatrace --mmap-lock-hook` can trace here (`check --json`'s opt_in).
bool mmap_lock_hook_usable();
// Where it cannot: vmatrace says why in one line, exits non-zero, writes no file.
void expect_mmap_lock_hook_refused();

// Names of loaded BPF programs that are vmatrace's (should be none after exit).
std::vector<std::string> attached_vmatrace_programs();

}  // namespace e2e
