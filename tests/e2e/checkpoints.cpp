#include "checkpoints.h"

#include <dirent.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <thread>

#include "harness.h"

namespace e2e {
namespace {

char thread_state(const std::string& stat_path) {
  std::string line = read_file(stat_path);
  auto close = line.rfind(')');
  return close == std::string::npos || close + 2 >= line.size() ? 0 : line[close + 2];
}

}  // namespace

uint64_t monotonic_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ULL + static_cast<uint64_t>(ts.tv_nsec);
}

bool wait_all_stopped(pid_t pid, int timeout_ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  std::string task_dir = "/proc/" + std::to_string(pid) + "/task";
  while (std::chrono::steady_clock::now() < deadline) {
    DIR* d = opendir(task_dir.c_str());
    if (!d) return false;
    bool all = true, any = false, zombie = false;
    while (dirent* ent = readdir(d)) {
      if (ent->d_name[0] == '.') continue;
      char st = thread_state(task_dir + "/" + ent->d_name + "/stat");
      any = true;
      if (st == 'Z' || st == 'X') zombie = true;
      // Only a job-control stop is the workload's own: 't' is a ptrace stop, and
      // without the VMA iterator vmatrace holds its command in one at its exec
      // until /proc shows the new image. Taken for the workload's stop, the
      // test's SIGCONT was lost on it and the workload's own stop came later,
      // for nobody to end (the 6.1 LongRec flight-dump flake: 300 s, no file).
      if (st != 'T') all = false;
    }
    closedir(d);
    if (zombie || !any) return false;
    if (all) return true;
    std::this_thread::sleep_for(std::chrono::microseconds(500));
  }
  return false;
}

bool wait_for_step(pid_t pid, const std::string& step_file, const std::string& step) {
  while (wait_all_stopped(pid) && read_file(step_file) != step)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  return read_file(step_file) == step;
}

Checkpoint take(pid_t pid, const std::string& what) {
  Checkpoint c{pid, 0, read_file("/proc/" + std::to_string(pid) + "/maps"), what};
  c.t_ns = monotonic_ns();
  return c;
}

std::string maps_at(const std::string& file, const Checkpoint& c) {
  uint64_t t0 = trace_summary(file)["clock_monotonic_ns"];
  EXPECT_GE(c.t_ns, t0) << "the checkpoint is before " << file << " begins";
  char at[32];
  snprintf(at, sizeof(at), "%.9f", static_cast<double>(c.t_ns - std::min(c.t_ns, t0)) / 1e9);
  auto r = run({vmatrace(), "report", file, "--maps", "--at", at, "--pid", std::to_string(c.pid)});
  EXPECT_EQ(r.status, 0) << r.err;
  return r.out;
}

}  // namespace e2e
