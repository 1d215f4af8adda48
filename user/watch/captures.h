// Storm captures: the full tracer (this same binary) run as a child process
// per capture, so that the metrics and the watch's own loop never wait for
// one. Two kinds:
//  - a capture started by the storm: `-p PID -o FILE -d S --plain`;
//  - with --capture-before, an armed flight recorder started when the
//    process crossed the warning level (`-p PID -o FILE --flight W
//    --flight-armed`, see arming.h): it writes nothing unless the storm fires
//    it, and then holds the seconds before the storm too.
// Rate-limited per process, bounded in number running and armed, and stopped
// cleanly (SIGTERM: their traces complete, unfired ones write nothing) when
// the watch stops.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <regex>
#include <string>
#include <utility>
#include <vector>

#include "watch/arming.h"
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
  double before_s = 0;     // --capture-before: seconds before the storm (0: no flight recorders)
  double warn_fraction = 0.25;  // the warning level that arms one, a fraction of the storm rule
  size_t max_armed = 2;    // flight recorders armed at once
};

enum class CaptureStart { Started, NotSelected, Cooldown, Busy, DiskFull, Failed };
const char* capture_start_name(CaptureStart s);

struct CaptureDone {
  ProcKey target;
  std::string file;
  int status = 0;         // shell-style: exit code, or 128 + signal
  bool captured = true;   // false: an armed recorder that ended unfired (it wrote nothing)
  bool disarmed = false;  // that recorder was disarmed by the watch (else its target ended)
};

// An armed recorder that has begun recording.
struct ArmedNow {
  ProcKey target;
  std::string comm;
  double rate = 0;  // when it was armed
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

  // Whether process w may get an armed flight recorder now.
  bool may_arm(const WarmProcess& w, uint64_t now_ns);
  // Starts one (after may_arm): Started or Failed.
  CaptureStart arm(const WarmProcess& w);
  // Stops an armed recorder that was not fired: it writes nothing.
  void disarm(const ProcKey& target);
  // The storm came for an armed process: its recorder becomes a capture,
  // unless the running limit or a full disk says no (it stays armed then).
  // *file: the trace's path; *before_s: the seconds before now it holds.
  CaptureStart fire(const ProcKey& target, uint64_t now_ns, std::string* file, double* before_s);

  // Often (the watch's loop): reads the armed recorders' output, signals
  // them when due. Returns those that began recording.
  std::vector<ArmedNow> tick(uint64_t now_ns);
  // Reaps the captures that ended; prunes the directory after each.
  std::vector<CaptureDone> reap();
  // SIGTERM to every capture, then waits up to timeout_s for them (SIGKILL after).
  std::vector<CaptureDone> stop_all(int timeout_s);
  bool is_capture(pid_t pid) const { return children_.count(pid) != 0; }
  size_t running() const;  // captures (fired recorders too), not armed recorders

 private:
  struct Child {
    ProcKey target;
    std::string comm, file;
    double armed_rate = 0;
    std::optional<ArmedClock> armed;  // an armed flight recorder (fired or not)
    int out_fd = -1;                  // its stdout: the first line says it records
    bool disarmed = false;
  };
  bool in_cooldown(const ProcKey& target, uint64_t now_ns);
  bool recording(const ProcKey& target) const;  // a capture or an armed recorder of target runs
  Child* armed_of(const ProcKey& target);
  pid_t spawn(const std::vector<std::string>& args, int out_fd);
  std::vector<CaptureDone> reap_nonblocking();
  size_t files_to_come() const;  // fired recorders write their file when they end

  CaptureOptions opts_;
  CaptureDir dir_;
  std::regex comm_regex_;
  std::map<pid_t, Child> children_;  // by child pid
  // (target pid, start ticks) -> when its last capture began. Entries older
  // than the cooldown mean nothing and go: bounded by captures per cooldown.
  std::map<ProcKey, uint64_t> last_capture_ns_;
};

}  // namespace vmatrace
