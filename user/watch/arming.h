// Captures that hold the seconds before a storm (--capture-before): a
// process whose fault rate crosses the warning level gets a flight recorder
// (`vmatrace -p PID --flight W --flight-armed`) that keeps its last seconds
// in memory and writes nothing unless fired. The storm fires it; a process
// that calms down is disarmed. Recording every process all the time would
// cost every fault on the machine: only a few, the busiest, are armed.
//
// The decisions, without processes or clocks of their own: which processes
// hold a recorder (ArmedSet), and when one recorder is signalled (ArmedClock).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "watch/fault_ledger.h"

namespace vmatrace {

struct ProcKey {
  pid_t pid = 0;
  uint64_t start_ticks = 0;  // a reused pid is another process
  bool operator<(const ProcKey& o) const { return std::pair(pid, start_ticks) < std::pair(o.pid, o.start_ticks); }
  bool operator==(const ProcKey& o) const { return pid == o.pid && start_ticks == o.start_ticks; }
};

class ArmedSet {
 public:
  // A warm process takes an armed one's place only at this many times its
  // rate: two processes of about the same rate do not swap recorders (each
  // start loads the tracer's BPF programs) at every poll.
  static constexpr double kDisplaceFactor = 2;

  // max_armed: recorders at once; calm_ns: how long below the warning level
  // before a process is disarmed.
  ArmedSet(size_t max_armed, uint64_t calm_ns) : max_(max_armed), calm_ns_(calm_ns) {}

  struct Plan {
    std::vector<WarmProcess> arm;                              // highest rate first
    std::vector<std::pair<ProcKey, const char*>> disarm;       // with the reason: "calm", "displaced"
  };
  // One poll: the processes above the warning level now. may_arm says
  // whether one may get a recorder (its comm selected, not in its cooldown,
  // not being captured). The disarmed leave the set; the caller add()s each
  // process of plan.arm once its recorder started.
  Plan poll(const std::vector<WarmProcess>& warm, uint64_t now_ns,
            const std::function<bool(const WarmProcess&)>& may_arm);
  void add(const ProcKey& k, double rate, uint64_t now_ns);
  void remove(const ProcKey& k) { armed_.erase(k); }
  bool contains(const ProcKey& k) const { return armed_.count(k) != 0; }
  size_t size() const { return armed_.size(); }

 private:
  struct Armed {
    double rate = 0;  // in the last poll (0: below the warning level)
    uint64_t last_warm_ns = 0;
  };
  size_t max_;
  uint64_t calm_ns_;
  std::map<ProcKey, Armed> armed_;
};

// One armed recorder's clock. Its first line of output (the plain summary,
// printed a second into the recording) says it records. A storm fires it:
// SIGUSR1 once it records (before, the signal would find no handler and kill
// it), then SIGTERM `after` later; the end of the recording writes its last
// window, which therefore holds `before` seconds before the storm.
class ArmedClock {
 public:
  static constexpr uint64_t kFirstOutputNs = 1000000000ULL;  // the plain view's first summary

  ArmedClock(uint64_t before_ns, uint64_t after_ns) : before_ns_(before_ns), after_ns_(after_ns) {}

  void output_seen(uint64_t now_ns);
  // The storm, now: returns the seconds before it the capture holds (at
  // least; 0 while the recorder has not begun).
  double fire(uint64_t now_ns);
  enum class Action { None, Fire, Stop };  // SIGUSR1, SIGTERM
  Action tick(uint64_t now_ns);

  bool recording() const { return recording_since_.has_value(); }
  bool fired() const { return fired_at_.has_value(); }

 private:
  uint64_t before_ns_, after_ns_;
  std::optional<uint64_t> recording_since_, fired_at_, stop_at_;
  bool signalled_ = false, stopped_ = false;
};

}  // namespace vmatrace
