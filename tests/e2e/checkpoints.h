// Checkpoints against the kernel's truth: a target stopped (every thread),
// its /proc/PID/maps read at a known CLOCK_MONOTONIC moment.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

namespace e2e {

uint64_t monotonic_ns();
// All threads of pid stopped (true), or the process gone or a zombie (false).
bool wait_all_stopped(pid_t pid, int timeout_ms = 20000);

// Waits for a self-stopping workload to stop with `step` in its step file
// (false if it ends, or stops for good at another step).
bool wait_for_step(pid_t pid, const std::string& step_file, const std::string& step);

struct Checkpoint {
  pid_t pid;
  uint64_t t_ns;
  std::string maps;
  std::string what;
};

// The target must be stopped: its maps cannot change under us.
Checkpoint take(pid_t pid, const std::string& what);

// `report --maps --at` of a trace file at the checkpoint's moment (by the file's own clock).
std::string maps_at(const std::string& file, const Checkpoint& c);

}  // namespace e2e
