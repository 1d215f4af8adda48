// Every process on the machine with its fault counters, as /proc/PID/stat
// gives them: the whole thread group's (dead threads included), read
// without costing the faults anything.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vmatrace {

struct ProcSample {
  pid_t pid = 0;
  uint64_t start_ticks = 0;  // starttime: clock ticks since boot (with pid, names one process)
  std::string comm;          // raw bytes from the kernel
  uint64_t min_flt = 0, maj_flt = 0;
  bool kernel_thread = false;
};

// One /proc/PID/stat line; nullopt if malformed.
std::optional<ProcSample> parse_proc_stat(pid_t pid, std::string_view line);

// Reads every user process now on the machine into *out (cleared first).
// Processes that vanish while being read are simply missing.
void scan_processes(std::vector<ProcSample>* out);

// The cgroup v2 path ("0::PATH" in /proc/PID/cgroup), "" if none (no
// cgroup2 mounted); nullopt if the process is gone.
std::optional<std::string> proc_cgroup_path(pid_t pid);
// Clock ticks since boot now, in /proc/PID/stat's starttime unit.
uint64_t boot_ticks_now();
uint64_t ns_to_ticks(uint64_t ns);

}  // namespace vmatrace
