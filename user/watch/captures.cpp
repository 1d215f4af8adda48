#include "watch/captures.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include "watch/labels.h"

namespace vmatrace {
namespace {

int shell_status(int st) { return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st); }

// The child: this same binary, recording one process. Its stdout (a summary
// now and then) goes to out_fd (-1: nowhere); its stderr, with any error, is
// the watch's. Only async-signal-safe calls after fork: the watch has other threads.
[[noreturn]] void exec_capture(pid_t watch, char* const argv[], int out_fd) {
  // A watch that dies unexpectedly still ends the capture cleanly.
  prctl(PR_SET_PDEATHSIG, SIGTERM);
  if (getppid() != watch) _exit(1);
  int devnull = open("/dev/null", O_RDWR);
  dup2(devnull, 0);
  dup2(out_fd >= 0 ? out_fd : devnull, 1);
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

uint64_t monotonic_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ULL + static_cast<uint64_t>(ts.tv_nsec);
}

std::string seconds_arg(double s) {
  char buf[32];
  snprintf(buf, sizeof(buf), "%.3f", s);
  return buf;
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

size_t Captures::running() const {
  size_t n = 0;
  for (const auto& [child, c] : children_) n += !c.armed || c.armed->fired();
  return n;
}

size_t Captures::files_to_come() const {
  size_t n = 0;
  for (const auto& [child, c] : children_) n += c.armed && c.armed->fired();
  return n;
}

bool Captures::in_cooldown(const ProcKey& target, uint64_t now_ns) {
  const uint64_t cooldown_ns = static_cast<uint64_t>(opts_.cooldown_s * 1e9);
  for (auto it = last_capture_ns_.begin(); it != last_capture_ns_.end();)
    it = now_ns - it->second >= cooldown_ns ? last_capture_ns_.erase(it) : std::next(it);
  return last_capture_ns_.count(target) != 0;
}

bool Captures::recording(const ProcKey& target) const {
  for (const auto& [child, c] : children_)
    if (c.target == target && !c.disarmed) return true;
  return false;
}

Captures::Child* Captures::armed_of(const ProcKey& target) {
  for (auto& [child, c] : children_)
    if (c.target == target && c.armed && !c.disarmed) return &c;
  return nullptr;
}

pid_t Captures::spawn(const std::vector<std::string>& args, int out_fd) {
  std::vector<std::string> copy = args;
  std::vector<char*> argv;
  for (auto& a : copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t watch = getpid();
  pid_t child = fork();
  if (child == 0) exec_capture(watch, argv.data(), out_fd);
  return child;
}

CaptureStart Captures::start(pid_t pid, uint64_t start_ticks, const std::string& comm, uint64_t now_ns,
                             std::string* file) {
  if (!opts_.comm_regex.empty() && !std::regex_match(printable(comm), comm_regex_)) return CaptureStart::NotSelected;
  if (in_cooldown({pid, start_ticks}, now_ns)) return CaptureStart::Cooldown;
  if (running() >= opts_.max_running) return CaptureStart::Busy;
  if (dir_.free_bytes() < opts_.min_free_bytes) return CaptureStart::DiskFull;
  dir_.prune(1 + files_to_come());
  timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  *file = dir_.new_capture_path(now, comm, pid);
  pid_t child =
      spawn({"vmatrace", "-p", std::to_string(pid), "-o", *file, "-d", seconds_arg(opts_.seconds), "--plain"}, -1);
  if (child < 0) return CaptureStart::Failed;
  children_[child] = {{pid, start_ticks}, comm, *file, 0, std::nullopt, -1, false};
  last_capture_ns_[{pid, start_ticks}] = now_ns;
  return CaptureStart::Started;
}

bool Captures::may_arm(const WarmProcess& w, uint64_t now_ns) {
  if (!opts_.comm_regex.empty() && !std::regex_match(printable(w.comm), comm_regex_)) return false;
  if (w.pid == getpid() || is_capture(w.pid)) return false;
  const ProcKey key{w.pid, w.start_ticks};
  return !recording(key) && !in_cooldown(key, now_ns) && dir_.free_bytes() >= opts_.min_free_bytes;
}

CaptureStart Captures::arm(const WarmProcess& w) {
  int out[2];
  if (pipe2(out, O_CLOEXEC) != 0) return CaptureStart::Failed;
  fcntl(out[0], F_SETFL, O_NONBLOCK);
  timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  std::string file = dir_.new_capture_path(now, w.comm, w.pid);
  // The window: the seconds before the storm, those after it, and a second
  // for the recorder to stop once told to (its window ends when it stops).
  const double window_s = opts_.before_s + opts_.seconds + 1;
  // One summary, a second in (it says the recorder records), then none for a day.
  pid_t child = spawn({"vmatrace", "-p", std::to_string(w.pid), "-o", file, "--flight", seconds_arg(window_s),
                       "--flight-armed", "--plain", "-i", "86400"},
                      out[1]);
  close(out[1]);
  if (child < 0) {
    close(out[0]);
    return CaptureStart::Failed;
  }
  Child c{{w.pid, w.start_ticks}, w.comm, file, w.rate,
          ArmedClock(static_cast<uint64_t>(opts_.before_s * 1e9), static_cast<uint64_t>(opts_.seconds * 1e9)), out[0],
          false};
  children_[child] = std::move(c);
  return CaptureStart::Started;
}

void Captures::disarm(const ProcKey& target) {
  for (auto& [child, c] : children_) {
    if (c.target == target && c.armed && !c.armed->fired() && !c.disarmed) {
      c.disarmed = true;
      kill(child, SIGTERM);
    }
  }
}

CaptureStart Captures::fire(const ProcKey& target, uint64_t now_ns, std::string* file, double* before_s) {
  Child* c = armed_of(target);
  if (!c || c->armed->fired()) return CaptureStart::Failed;
  if (running() >= opts_.max_running) return CaptureStart::Busy;
  if (dir_.free_bytes() < opts_.min_free_bytes) return CaptureStart::DiskFull;
  dir_.prune(1 + files_to_come());
  *before_s = c->armed->fire(now_ns);
  *file = c->file;
  last_capture_ns_[target] = now_ns;
  return CaptureStart::Started;
}

std::vector<ArmedNow> Captures::tick(uint64_t now_ns) {
  std::vector<ArmedNow> began;
  for (auto& [child, c] : children_) {
    if (!c.armed) continue;
    char buf[4096];
    ssize_t n;
    bool seen = false;
    // Drained whole every time: a full pipe would stop the recorder.
    while (c.out_fd >= 0 && (n = read(c.out_fd, buf, sizeof(buf))) != 0) {
      if (n < 0) break;
      seen = true;
    }
    if (seen && !c.armed->recording()) {
      c.armed->output_seen(now_ns);
      if (!c.disarmed) began.push_back({c.target, c.comm, c.armed_rate});
    }
    switch (c.armed->tick(now_ns)) {
      case ArmedClock::Action::Fire: kill(child, SIGUSR1); break;
      case ArmedClock::Action::Stop: kill(child, SIGTERM); break;
      case ArmedClock::Action::None: break;
    }
  }
  return began;
}

std::vector<CaptureDone> Captures::reap_nonblocking() {
  std::vector<CaptureDone> done;
  for (auto it = children_.begin(); it != children_.end();) {
    int st;
    if (waitpid(it->first, &st, WNOHANG) != it->first) {
      ++it;
      continue;
    }
    const Child& c = it->second;
    if (c.out_fd >= 0) close(c.out_fd);
    bool captured = !c.armed || c.armed->fired();
    // A recorder that failed is not started again at every poll: its process waits out the cooldown.
    if (!captured && !c.disarmed && shell_status(st) != 0) last_capture_ns_[c.target] = monotonic_ns();
    done.push_back({c.target, captured ? c.file : "", shell_status(st), captured, c.disarmed});
    it = children_.erase(it);
  }
  return done;
}

std::vector<CaptureDone> Captures::reap() {
  auto done = reap_nonblocking();
  if (!done.empty()) dir_.prune();
  return done;
}

std::vector<CaptureDone> Captures::stop_all(int timeout_s) {
  // Armed recorders not fired end writing nothing; one fired before it
  // recorded (no SIGUSR1 sent yet) too, and its capture says so.
  for (const auto& [child, c] : children_) kill(child, SIGTERM);
  std::vector<CaptureDone> done;
  timespec pause = {0, 20 * 1000000L};
  for (int waited_ms = 0; !children_.empty(); waited_ms += 20) {
    if (waited_ms >= timeout_s * 1000)
      for (const auto& [child, c] : children_) kill(child, SIGKILL);
    for (auto& d : reap_nonblocking()) done.push_back(std::move(d));
    if (!children_.empty()) nanosleep(&pause, nullptr);
  }
  if (!done.empty()) dir_.prune();
  return done;
}

}  // namespace vmatrace
