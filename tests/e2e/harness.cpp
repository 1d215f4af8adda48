#include "harness.h"

#include <fcntl.h>
#include <cstdlib>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <chrono>
#include <algorithm>
#include <fstream>
#include <iterator>
#include <sstream>
#include <thread>

#include "../workloads/markers.h"

namespace e2e {
namespace {

int decode_status(int st) { return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st); }

[[noreturn]] void exec_child(const std::vector<std::string>& argv) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  execvp(args[0], args.data());
  _exit(127);
}

bool wait_with_timeout(pid_t pid, int timeout_s, int* status) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  while (true) {
    int st;
    pid_t r = waitpid(pid, &st, WNOHANG);
    if (r == pid) {
      *status = decode_status(st);
      return true;
    }
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

}  // namespace

RunResult run(const std::vector<std::string>& argv, int timeout_s) {
  int out[2], err[2];
  if (pipe2(out, O_CLOEXEC) || pipe2(err, O_CLOEXEC)) return {};
  pid_t pid = fork();
  if (pid == 0) {
    dup2(out[1], 1);
    dup2(err[1], 2);
    int devnull = open("/dev/null", O_RDONLY);
    dup2(devnull, 0);
    exec_child(argv);
  }
  close(out[1]);
  close(err[1]);
  RunResult r;
  pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  int open_fds = 2;
  char buf[65536];
  while (open_fds > 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      kill(pid, SIGKILL);
      break;
    }
    if (poll(fds, 2, 200) <= 0) continue;
    for (int i = 0; i < 2; i++) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP))) continue;
      ssize_t n = read(fds[i].fd, buf, sizeof(buf));
      if (n <= 0) {
        close(fds[i].fd);
        fds[i].fd = -1;
        open_fds--;
      } else {
        (i == 0 ? r.out : r.err).append(buf, static_cast<size_t>(n));
      }
    }
  }
  for (auto& f : fds)
    if (f.fd >= 0) close(f.fd);
  int st = -1;
  if (!wait_with_timeout(pid, 10, &st)) {
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    st = -1;
  }
  r.status = st;
  return r;
}

Background::Background(const std::vector<std::string>& argv, bool capture_stderr) {
  if (capture_stderr) {
    char tmpl[] = "/tmp/vmatrace-e2e-err-XXXXXX";
    int fd = mkstemp(tmpl);
    close(fd);
    err_path_ = tmpl;
  }
  pid_ = fork();
  if (pid_ == 0) {
    int devnull = open("/dev/null", O_RDWR);
    dup2(devnull, 0);
    dup2(devnull, 1);
    if (!err_path_.empty()) {
      int fd = open(err_path_.c_str(), O_WRONLY | O_TRUNC);
      dup2(fd, 2);
    }
    exec_child(argv);
  }
}

Background::~Background() {
  if (pid_ > 0 && !reaped_) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  if (!err_path_.empty()) unlink(err_path_.c_str());
}

void Background::signal(int sig) { kill(pid_, sig); }

int Background::wait(int timeout_s) {
  if (reaped_) return status_;
  if (!wait_with_timeout(pid_, timeout_s, &status_)) return -1;
  reaped_ = true;
  return status_;
}

std::string Background::err() const { return err_path_.empty() ? "" : read_file(err_path_); }

std::string vmatrace() { return VMATRACE_BIN; }
std::string workload(const std::string& name) { return std::string(WORKLOADS_DIR) + "/" + name; }

TempDir::TempDir() {
  std::string base = std::string(WORKLOADS_DIR) + "/../e2e-tmp";
  mkdir(base.c_str(), 0700);
  std::string tmpl = base + "/XXXXXX";
  char* d = mkdtemp(tmpl.data());
  char real[PATH_MAX];
  dir_ = d && realpath(d, real) ? real : "/tmp";
}

TempDir::~TempDir() {
  std::string cmd = "rm -rf '" + dir_ + "'";
  if (dir_ != "/tmp") (void)!system(cmd.c_str());
}

std::vector<json> json_lines(const std::string& text) {
  std::vector<json> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] != '{') continue;
    auto j = json::parse(line, nullptr, false);
    if (!j.is_discarded()) out.push_back(std::move(j));
  }
  return out;
}

std::vector<json> trace_events(const std::string& file) {
  auto r = run({vmatrace(), "report", file, "--events", "--json"});
  EXPECT_EQ(r.status, 0) << r.err;
  return json_lines(r.out);
}

json trace_summary(const std::string& file, const std::vector<std::string>& report_args) {
  std::vector<std::string> argv = {vmatrace(), "report", file, "--json"};
  argv.insert(argv.end(), report_args.begin(), report_args.end());
  auto r = run(argv);
  EXPECT_EQ(r.status, 0) << r.err;
  auto j = json::parse(r.out, nullptr, false);
  EXPECT_FALSE(j.is_discarded()) << r.out;
  return j;
}

std::vector<std::string> storm_rules_for(const json& truth, uint64_t faults) {
  const double storm_s = std::max<double>(truth.value("storm_ms", 0), 1) / 1e3;
  const double floor = static_cast<double>(faults) / storm_s / 8;
  // A storm smaller than the default 1,000 faults still counts; a slowed-down
  // one is bursty, and a stall of the guest can cut it into pieces.
  std::vector<std::string> rules = {"--storm-min-faults",
                                    std::to_string(std::min<uint64_t>(1000, std::max<uint64_t>(faults / 8, 50)))};
  if (floor >= 2000) return rules;  // the default rates hold
  // The calm makes a fault every 20 ms (a median bin of 0 or 1): three times
  // that is still no calm.
  rules.insert(rules.end(), {"--storm-min-rate", std::to_string(floor), "--storm-threshold", "3"});
  return rules;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

static bool is_marker(const json& e, unsigned long addr) {
  return e["kind"] == "munmap" && e["addr"] == addr && e["length"] == 0;
}

std::vector<json> between_markers(const std::vector<json>& events, uint32_t pid) {
  size_t begin = events.size();
  for (size_t i = 0; i < events.size(); i++)
    if (events[i]["pid"] == pid && is_marker(events[i], MARK_BEGIN)) begin = i;
  std::vector<json> out;
  for (size_t i = begin + 1; i < events.size(); i++) {
    if (events[i]["pid"] != pid) continue;
    if (is_marker(events[i], MARK_END)) return out;
    out.push_back(events[i]);
  }
  ADD_FAILURE() << "no begin/end markers for pid " << pid;
  return {};
}

bool wait_for_file(const std::string& path, int timeout_ms) {
  struct stat st;
  for (int waited = 0; waited < timeout_ms; waited += 10) {
    if (stat(path.c_str(), &st) == 0) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

int count_lines(const std::string& s) {
  int n = 0;
  for (char c : s) n += c == '\n';
  return n;
}

std::string in_path(const std::string& program) {
  const char* path = std::getenv("PATH");
  std::istringstream dirs(path ? path : "/usr/bin:/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    std::string candidate = (dir.empty() ? "." : dir) + "/" + program;
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

namespace {

// `vmatrace check --json`, once per run.
const json& kernel_check() {
  static const json check = [] {
    auto r = run({vmatrace(), "check", "--json"});
    auto j = json::parse(r.out, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << r.out << r.err;
    return j.is_discarded() ? json::object() : j;
  }();
  return check;
}

}  // namespace

bool kernel_has(const std::string& feature) {
  const json features = kernel_check().value("features", json::object());
  EXPECT_TRUE(features.contains(feature)) << "vmatrace check knows no feature " << feature;
  // What VMATRACE_WITHOUT leaves out, every recording in this run does without.
  const char* without = getenv("VMATRACE_WITHOUT");
  if (without && ("," + std::string(without) + ",").find("," + feature + ",") != std::string::npos) return false;
  return features.value(feature, "") == "used";
}

bool mmap_lock_hook_usable() {
  const json opt_in = kernel_check().value("opt_in", json::object());
  EXPECT_TRUE(opt_in.contains("mmap_lock_hook")) << "vmatrace check knows no opt-in mmap_lock_hook";
  return opt_in.value("mmap_lock_hook", "") == "usable";
}

void expect_mmap_lock_hook_refused() {
  TempDir tmp;
  auto trace = tmp.path("t.vmt");
  auto r = run({vmatrace(), "--mmap-lock-hook", "-o", trace, "--", "true"});
  EXPECT_NE(r.status, 0);
  EXPECT_EQ(count_lines(r.err), 1) << r.err;
  EXPECT_NE(r.err.find("--mmap-lock-hook needs"), std::string::npos) << r.err;
  EXPECT_NE(access(trace.c_str(), F_OK), 0) << "no trace file is left";
}

std::vector<std::string> attached_vmatrace_programs() {
  // The kernel frees programs of closed links asynchronously (RCU, deferred
  // perf-event teardown): give it a moment before calling them leaked.
  std::vector<std::string> found;
  for (int attempt = 0; attempt < 50; attempt++) {
    auto r = run({"bpftool", "prog", "show"});
    found.clear();
    for (const char* name : {"on_sys_enter", "on_sys_exit", "on_pf_user", "on_fault_min", "on_exec", "lk_write_locked"})
      if (r.out.find(std::string("name ") + name) != std::string::npos) found.push_back(name);
    if (found.empty()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return found;
}

}  // namespace e2e
