// Targets as they really are: a process whose leader thread has exited
// (pthread_exit) is traced through its live threads, named by its pid or by
// any thread's id; a process /proc will not show is refused with the kernel's
// reason, not a made-up one.
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <functional>
#include <sstream>
#include <thread>

#include "harness.h"

namespace e2e {
namespace {

char state_of(const std::string& stat_path) {
  std::string line = read_file(stat_path);
  auto close = line.rfind(')');
  return close == std::string::npos || close + 2 >= line.size() ? 0 : line[close + 2];
}

// The one thread of pid other than its leader.
pid_t worker_of(pid_t pid) {
  DIR* d = opendir(("/proc/" + std::to_string(pid) + "/task").c_str());
  pid_t tid = 0;
  while (dirent* e = d ? readdir(d) : nullptr)
    if (e->d_name[0] != '.' && std::stoi(e->d_name) != pid) tid = std::stoi(e->d_name);
  if (d) closedir(d);
  return tid;
}

// Lines "WHAT N" the workload appended to its report file.
int count_reports(const std::string& file, const std::string& what) {
  std::istringstream in(read_file(file));
  std::string w;
  long n;
  int count = 0;
  while (in >> w >> n) count += w == what;
  return count;
}

long last_report(const std::string& file, const std::string& what) {
  std::istringstream in(read_file(file));
  std::string w;
  long n, last = -1;
  while (in >> w >> n)
    if (w == what) last = n;
  return last;
}

bool wait_until(const std::function<bool()>& done) {
  for (int i = 0; i < 2000; i++) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return false;
}

class LeaderExited : public ::testing::TestWithParam<bool> {};

INSTANTIATE_TEST_SUITE_P(HostileTargets, LeaderExited, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "by_thread_id" : "by_pid"; });

// The worker, asked once tracing is on, faults a known number of times
// between markers; every one of them is in the trace, under the process's pid.
TEST_P(LeaderExited, TracedThroughItsLiveThreads) {
  REQUIRE_ROOT();
  TempDir tmp;
  auto reports = tmp.path("reports"), trace = tmp.path("t.vmt");
  Background target({workload("leaderless"), reports});
  const pid_t pid = target.pid();
  ASSERT_TRUE(wait_until([&] { return count_reports(reports, "ready") == 1; }));
  ASSERT_TRUE(wait_until([&] { return state_of("/proc/" + std::to_string(pid) + "/stat") == 'Z'; }))
      << "the leader thread has exited";
  const pid_t tid = worker_of(pid);
  ASSERT_GT(tid, 0);

  Background rec({vmatrace(), "-p", std::to_string(GetParam() ? tid : pid), "-o", trace}, true);
  ASSERT_TRUE(wait_for_file(trace)) << rec.err();
  kill(pid, SIGUSR1);
  ASSERT_TRUE(wait_until([&] { return count_reports(reports, "faults") == 1; }));
  rec.signal(SIGINT);
  ASSERT_EQ(rec.wait(), 0) << rec.err();

  auto sum = trace_summary(trace);
  EXPECT_EQ(sum["target"]["pid"], pid);
  EXPECT_TRUE(sum["complete"].get<bool>());
  auto window = between_markers(trace_events(trace), static_cast<uint32_t>(pid));
  int faults = 0, mmaps = 0, munmaps = 0;
  for (const auto& e : window) {
    EXPECT_EQ(e["tid"], tid);
    faults += e["kind"] == "fault";
    mmaps += e["kind"] == "mmap";
    munmaps += e["kind"] == "munmap";
  }
  EXPECT_EQ(faults, last_report(reports, "faults")) << "as getrusage(RUSAGE_THREAD) counted them";
  EXPECT_GE(faults, 64);
  EXPECT_EQ(mmaps, 1);
  EXPECT_EQ(munmaps, 1);
  EXPECT_EQ(sum["model"]["faults_outside_vmas"], 0) << "the model knows the live threads' VMAs";
}

// Where /proc refuses a process's maps (the kernel's ptrace access check),
// vmatrace says so, before it attaches anything.
TEST(HostileTargets, AnUnreadableProcessGetsTheKernelsReason) {
  REQUIRE_ROOT();
  int fd = open("/proc/1/maps", O_RDONLY | O_CLOEXEC);
  int err = errno;
  if (fd >= 0) close(fd);
  if (fd >= 0 || err != EACCES) GTEST_SKIP() << "/proc/1/maps is readable here: nothing to refuse";
  auto r = run({vmatrace(), "-p", "1", "-d", "1"});
  EXPECT_EQ(r.status, 1) << r.err;
  EXPECT_EQ(r.err, "vmatrace: cannot read /proc/1/maps: Permission denied\n");
  EXPECT_TRUE(attached_vmatrace_programs().empty());
}

}  // namespace
}  // namespace e2e
