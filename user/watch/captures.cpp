#include "watch/captures.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "watch/labels.h"

namespace vmatrace {
namespace {

int shell_status(int st) { return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st); }

// The child: this same binary, recording one process. Its stdout (a summary
// a second) is of no use here; its stderr, with any error, is the watch's.
// Only async-signal-safe calls after fork: the watch has other threads.
[[noreturn]] void exec_capture(pid_t watch, char* const argv[]) {
  // A watch that dies unexpectedly still ends the capture cleanly.
  prctl(PR_SET_PDEATHSIG, SIGTERM);
  if (getppid() != watch) _exit(1);
  int devnull = open("/dev/null", O_RDWR);
  dup2(devnull, 0);
  dup2(devnull, 1);
  // Nothing else of the watch's (its listening socket above all) stays open.
  close_range(3, ~0U, 0);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  execv("/proc/self/exe", argv);
  static const char msg[] = "vmatrace: watch: cannot run the capture\n";
  (void)!write(2, msg, sizeof(msg) - 1);
  _exit(127);
}

}  // namespace

const char* capture_start_name(CaptureStart s) {
  switch (s) {
    case CaptureStart::Started: return "started";
    case CaptureStart::NotSelected: return "not_selected";
    case CaptureStart::Cooldown: return "cooldown";
    case CaptureStart::Busy: return "busy";
    case CaptureStart::DiskFull: return "disk_full";
    case CaptureStart::Failed: return "failed";
  }
  return "?";
}

Captures::Captures(CaptureOptions opts, CaptureDir dir)
    : opts_(std::move(opts)), dir_(std::move(dir)), comm_regex_(opts_.comm_regex, std::regex::extended) {
  dir_.prune();
}

Captures::~Captures() { stop_all(30); }

CaptureStart Captures::start(pid_t pid, uint64_t start_ticks, const std::string& comm, uint64_t now_ns,
                             std::string* file) {
  if (!opts_.comm_regex.empty() && !std::regex_match(printable(comm), comm_regex_)) return CaptureStart::NotSelected;
  const uint64_t cooldown_ns = static_cast<uint64_t>(opts_.cooldown_s * 1e9);
  for (auto it = last_capture_ns_.begin(); it != last_capture_ns_.end();)
    it = now_ns - it->second >= cooldown_ns ? last_capture_ns_.erase(it) : std::next(it);
  if (last_capture_ns_.count({pid, start_ticks})) return CaptureStart::Cooldown;
  if (running_.size() >= opts_.max_running) return CaptureStart::Busy;
  if (dir_.free_bytes() < opts_.min_free_bytes) return CaptureStart::DiskFull;
  dir_.prune(1);
  timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  *file = dir_.new_capture_path(now, comm, pid);
  std::string target = std::to_string(pid), secs = std::to_string(opts_.seconds);
  std::vector<std::string> args = {"vmatrace", "-p", target, "-o", *file, "-d", secs, "--plain"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t watch = getpid();
  pid_t child = fork();
  if (child < 0) return CaptureStart::Failed;
  if (child == 0) exec_capture(watch, argv.data());
  running_[child] = {pid, *file};
  last_capture_ns_[{pid, start_ticks}] = now_ns;
  return CaptureStart::Started;
}

std::vector<CaptureDone> Captures::reap_nonblocking() {
  std::vector<CaptureDone> done;
  for (auto it = running_.begin(); it != running_.end();) {
    int st;
    if (waitpid(it->first, &st, WNOHANG) == it->first) {
      done.push_back({it->second.target, it->second.file, shell_status(st)});
      it = running_.erase(it);
    } else {
      ++it;
    }
  }
  return done;
}

std::vector<CaptureDone> Captures::reap() {
  auto done = reap_nonblocking();
  if (!done.empty()) dir_.prune();
  return done;
}

std::vector<CaptureDone> Captures::stop_all(int timeout_s) {
  for (const auto& [child, r] : running_) kill(child, SIGTERM);
  std::vector<CaptureDone> done;
  timespec pause = {0, 20 * 1000000L};
  for (int waited_ms = 0; !running_.empty(); waited_ms += 20) {
    if (waited_ms >= timeout_s * 1000)
      for (const auto& [child, r] : running_) kill(child, SIGKILL);
    for (auto& d : reap_nonblocking()) done.push_back(std::move(d));
    if (!running_.empty()) nanosleep(&pause, nullptr);
  }
  if (!done.empty()) dir_.prune();
  return done;
}

}  // namespace vmatrace
