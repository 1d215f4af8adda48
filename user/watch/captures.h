// Storm captures: the full tracer (this same binary, `-p PID -o FILE -d S
// --plain`) run as a child process per capture, so that the metrics and the
// watch's own loop never wait for one. Rate-limited per process, bounded in
// number running, and stopped cleanly (SIGTERM: their traces complete) when
// the watch stops.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <map>
#include <regex>
#include <string>
#include <utility>
#include <vector>

#include "watch/capture_dir.h"

namespace vmatrace {

struct CaptureOptions {
  std::string dir;
  double seconds = 10;
  double cooldown_s = 300;
  size_t max_files = 20;
  uint64_t max_bytes = 1ULL << 30;
  size_t max_running = 1;
  uint64_t min_free_bytes = 64ULL << 20;  // below this the disk is full: no new capture
  std::string comm_regex;  // capture only processes whose (printable) comm matches; "" all
};

enum class CaptureStart { Started, NotSelected, Cooldown, Busy, DiskFull, Failed };
const char* capture_start_name(CaptureStart s);

struct CaptureDone {
  pid_t target = 0;
  std::string file;
  int status = 0;  // shell-style: exit code, or 128 + signal
};

class Captures {
 public:
  Captures(CaptureOptions opts, CaptureDir dir);
  ~Captures();  // stops what still runs
  Captures(const Captures&) = delete;
  Captures& operator=(const Captures&) = delete;

  // Records process (pid, start_ticks) into a new file, unless its cooldown,
  // the running limit or a full disk says no. *file: the trace's path.
  CaptureStart start(pid_t pid, uint64_t start_ticks, const std::string& comm, uint64_t now_ns, std::string* file);
  // Reaps the captures that ended; prunes the directory after each.
  std::vector<CaptureDone> reap();
  // SIGTERM to every capture, then waits up to timeout_s for them (SIGKILL after).
  std::vector<CaptureDone> stop_all(int timeout_s);
  bool is_capture(pid_t pid) const { return running_.count(pid) != 0; }
  size_t running() const { return running_.size(); }

 private:
  struct Running {
    pid_t target;
    std::string file;
  };
  std::vector<CaptureDone> reap_nonblocking();

  CaptureOptions opts_;
  CaptureDir dir_;
  std::regex comm_regex_;
  std::map<pid_t, Running> running_;  // by capture child pid
  // (target pid, start ticks) -> when its last capture began. Entries older
  // than the cooldown mean nothing and go: bounded by captures per cooldown.
  std::map<std::pair<pid_t, uint64_t>, uint64_t> last_capture_ns_;
};

}  // namespace vmatrace
