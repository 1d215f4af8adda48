// Per-process fault accounting for the whole machine: each /proc poll adds
// what every process faulted since the previous one; a process's exit record
// (bpf/watch.bpf.c) adds what it faulted after its last poll. Only live
// processes are kept: an entry goes with its exit record, or when the process
// has been missing from /proc for exit_grace_ns without one. The record comes
// after the RCU grace period that follows the reap: with lazy RCU
// (CONFIG_RCU_LAZY) seconds later.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "analysis/analysis.h"
#include "watch/proc_scan.h"
#include "watch/storm_trigger.h"

namespace vmatrace {

// Faults to charge to a (comm, cgroup) pair; names are raw kernel bytes.
struct FaultShare {
  std::string comm, cgroup;
  uint64_t minor = 0, major = 0;
};

struct StormStart {
  pid_t pid = 0;
  uint64_t start_ticks = 0;
  std::string comm, cgroup;
  double rate = 0;  // faults/s in the interval that started it
};

// A process whose last interval was above the warning level (StormTrigger::warm).
struct WarmProcess {
  pid_t pid = 0;
  uint64_t start_ticks = 0;
  std::string comm;
  double rate = 0;  // faults/s in that interval
};

struct ExitInfo {
  pid_t pid = 0;
  uint64_t start_ticks = 0;
  std::string comm;
  uint64_t cgroup_id = 0;
  uint64_t min_flt = 0, maj_flt = 0;  // the group's final totals
};

struct LedgerHooks {
  std::function<std::optional<std::string>(pid_t)> cgroup_of_pid;  // a live process's cgroup path; nullopt: gone
  std::function<std::string(uint64_t)> cgroup_of_id;       // a cgroup id's path
};

class FaultLedger {
 public:
  static constexpr uint64_t kExitGraceNs = 30 * 1000000000ULL;

  // Processes started before watch_start_ticks count from their first poll,
  // later ones from their start (also those born and gone between polls).
  // warn_fraction: the warning level, as a fraction of the storm rule (0: none).
  FaultLedger(uint64_t watch_start_ticks, uint64_t interval_ns, AnalysisOptions storm_rule, LedgerHooks hooks,
              double warn_fraction = 0);

  // One full /proc scan: appends the faults since the previous scan, the
  // storms that began in this interval and (with a warning level) the
  // processes above it in this interval, storming ones included.
  void poll(const std::vector<ProcSample>& samples, uint64_t now_ns, std::vector<FaultShare>* faults,
            std::vector<StormStart>* storms, std::vector<WarmProcess>* warm = nullptr);
  // A process is gone: appends the faults it took after its last poll.
  void exited(const ExitInfo& e, std::vector<FaultShare>* faults);

  size_t tracked() const { return procs_.size(); }
  // Processes that vanished without an exit record: their last faults are missing.
  uint64_t exits_missed() const { return exits_missed_; }

 private:
  struct Key {
    pid_t pid;
    uint64_t start_ticks;
    bool operator==(const Key& o) const { return pid == o.pid && start_ticks == o.start_ticks; }
  };
  struct KeyHash {
    size_t operator()(const Key& k) const { return std::hash<uint64_t>()(k.start_ticks * 4194319ULL ^ static_cast<uint64_t>(k.pid)); }
  };
  struct Proc {
    std::string comm, cgroup;
    uint64_t min_flt = 0, maj_flt = 0;  // as of the last poll
    uint64_t last_seen_ns = 0;
    StormTrigger storms;
  };

  bool counts_from_start(uint64_t start_ticks) const { return start_ticks >= watch_start_ticks_; }
  void update(const ProcSample& s, uint64_t now_ns, std::vector<FaultShare>* faults,
              std::vector<StormStart>* storms, std::vector<WarmProcess>* warm);

  uint64_t watch_start_ticks_;
  uint64_t interval_ns_;
  AnalysisOptions rule_;
  LedgerHooks hooks_;
  double warn_fraction_;
  std::unordered_map<Key, Proc, KeyHash> procs_;
  uint64_t exits_missed_ = 0;
};

}  // namespace vmatrace
