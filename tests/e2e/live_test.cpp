// The live view, driven like a person would: in tmux, with keys.
#include <chrono>
#include <sstream>
#include <thread>

#include "harness.h"

namespace e2e {
namespace {

std::string capture(const std::string& session) {
  return run({"tmux", "capture-pane", "-p", "-t", session}).out;
}

// Generous: under emulation (scripts/test-kernels.sh) a second of view takes several.
bool wait_for(const std::string& session, const std::string& text, int timeout_ms = 60000) {
  for (int waited = 0; waited < timeout_ms; waited += 100) {
    if (capture(session).find(text) != std::string::npos) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

struct TmuxSession {
  std::string name;
  explicit TmuxSession(const std::string& command) : name("vmatrace-e2e-" + std::to_string(getpid())) {
    run({"tmux", "kill-session", "-t", name});
    run({"tmux", "new-session", "-d", "-s", name, "-x", "160", "-y", "30", command});
  }
  ~TmuxSession() { run({"tmux", "kill-session", "-t", name}); }
  void keys(const std::string& k) { run({"tmux", "send-keys", "-t", name, k}); }
};

TEST(Live, FullScreenViewInATerminal) {
  REQUIRE_ROOT();
  ASSERT_EQ(run({"sh", "-c", "command -v tmux"}).status, 0) << "tmux is needed (scripts/install-deps.sh)";
  TempDir tmp;
  Background target({workload("sleeper"), "2"});
  auto trace = tmp.path("t.vmt");
  TmuxSession tmux(vmatrace() + " -p " + std::to_string(target.pid()) + " -o " + trace +
                   "; echo EXITED-$?; sleep 60");
  ASSERT_TRUE(wait_for(tmux.name, "faults/s")) << capture(tmux.name);
  ASSERT_TRUE(wait_for(tmux.name, "[anon]")) << "a VMA row appears once a second has passed\n" << capture(tmux.name);
  std::string screen = capture(tmux.name);
  EXPECT_NE(screen.find("pid " + std::to_string(target.pid())), std::string::npos) << screen;
  EXPECT_NE(screen.find("VMA changes/s"), std::string::npos);
  EXPECT_NE(screen.find("lost 0"), std::string::npos);
  EXPECT_NE(screen.find("RANGE"), std::string::npos);
  EXPECT_NE(screen.find("P99"), std::string::npos);
  EXPECT_NE(screen.find("sort: faults/s"), std::string::npos);

  tmux.keys("s");
  EXPECT_TRUE(wait_for(tmux.name, "sort: total faults")) << capture(tmux.name);
  tmux.keys("p");
  EXPECT_TRUE(wait_for(tmux.name, "[paused]")) << capture(tmux.name);
  tmux.keys("q");
  ASSERT_TRUE(wait_for(tmux.name, "EXITED-0")) << capture(tmux.name);
  screen = capture(tmux.name);
  EXPECT_EQ(screen.find("keys: s sort"), std::string::npos) << "the terminal is restored:\n" << screen;
  EXPECT_NE(screen.find("top VMAs by faults"), std::string::npos) << "a summary is left behind";
  // Recording went on underneath: the sleeper maps a page every 2 ms, and the
  // view ran for over a second (a starved emulated guest's sleeper, a tenth
  // as often: one CI run of the 6.12 guest recorded 97).
  auto sum = trace_summary(trace);
  EXPECT_TRUE(sum["complete"].get<bool>());
  EXPECT_GT(sum["events"]["mmap"].get<int>(), 40);
  EXPECT_TRUE(attached_vmatrace_programs().empty());
}

TEST(Live, PlainSummariesWhenPiped) {
  REQUIRE_ROOT();
  TempDir tmp;
  Background target({workload("sleeper"), "2"});
  auto r = run({vmatrace(), "-p", std::to_string(target.pid()), "-o", tmp.path("t.vmt"), "-i", "0.5", "-d", "2.6"});
  ASSERT_EQ(r.status, 0) << r.err;
  int lines = 0;
  std::istringstream in(r.out);
  std::string line;
  while (std::getline(in, line))
    if (line.find("] pid " + std::to_string(target.pid()) + ": faults/s") != std::string::npos) lines++;
  EXPECT_GE(lines, 3) << r.out;
  EXPECT_NE(r.out.find("[anon]"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace e2e
