// `vmatrace [-p PID | -- CMD]`: attach, stream events to a trace file or to
// stdout, stop cleanly on SIGINT/SIGTERM, -d, or the target's exit.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace vmatrace {

// What vmatrace shows while it traces.
enum class LiveOutput {
  Events,  // every event on stdout, one per line (text or --json)
  Screen,  // the full-screen live view (a terminal)
  Plain,   // a plain-text summary every interval
  None,
};

struct RecordOptions {
  LiveOutput live = LiveOutput::Events;
  double interval_s = 1;
  pid_t pid = 0;
  std::vector<std::string> command;
  std::string output;  // empty: events to stdout
  bool json = false;   // stdout lines as JSON
  double duration_s = 0;
  bool follow_children = false;
  // Measured (2 vCPUs under load): 1 MiB already loses nothing on a 1 GiB
  // fault storm, a syscall storm or stacks on every fault; but four threads
  // churning their VMAs, attached midway, lost snapshots at 4 MiB. 16 MiB
  // holds them and keeps an idle recording near 30 MB.
  size_t ringbuf_mb = 16;
  std::vector<std::string> without;  // optional kernel features to act as if missing
  bool resync = true;  // re-read /proc/PID/maps where the kernel gives no snapshot
  uint32_t stack_every = 0;  // --stacks: a user stack every Nth fault
  uint64_t max_size = 0;  // --max-size: bytes a trace file may take (0: no limit)
  unsigned rotate = 0;    // --rotate: files kept (with max_size), else recording ends at the limit
  double flight_s = 0;    // --flight: keep only this many seconds, dump on exit/SIGUSR1/trigger
  bool trigger_storm = false;  // --trigger storm
  double after_s = 0;     // --after: seconds recorded after the trigger before the dump
};

// Returns the process exit code: the command's own with `--`, else 0.
int run_record(const RecordOptions& opts);

}  // namespace vmatrace
