// The trace's header: who was traced, where and when. Written at the head
// of every trace file and known to a live recording before its first event.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "util/result.h"

namespace vmatrace {

constexpr uint32_t kTraceFormatVersion = 3;

// A process whose VMAs the recorder's model was unsure of when this file began
// (a rotation): its first whole snapshot here is the model's guess, not the truth.
struct UncertainAtStart {
  uint32_t pid = 0;
  std::string reason;
};

struct TraceMeta {
  uint32_t format_version = kTraceFormatVersion;
  std::string vmatrace_version;
  std::string kernel_release;
  std::string hostname;
  uint64_t clock_monotonic_ns = 0;  // CLOCK_MONOTONIC at start: the event clock
  uint64_t clock_realtime_ns = 0;   // CLOCK_REALTIME at the same moment
  uint32_t target_pid = 0;
  std::vector<std::string> command;  // the target's command line
  bool follow_children = false;
  std::string maps_at_attach;  // /proc/PID/maps of the target when tracing began
  std::string vsyscall_line;   // the [vsyscall] line maps prints last, if this machine has one
  bool kernel_snapshots = true;  // the kernel reported VMAs after every change (else: predict)
  // Where the address-space syscalls were caught: "fentry", "tracepoints",
  // "raw" or "mmap_lock" (--mmap-lock-hook: calls that took no write lock
  // are not in the trace); "" in files from before it was recorded.
  std::string syscall_hook;
  uint32_t page_size = 4096;
  // A flight-recorder dump (--flight): what wrote it ("exit", "SIGUSR1",
  // "storm"; empty: not a dump) and the window it was asked to keep.
  std::string flight_trigger;
  uint64_t flight_window_ms = 0;
  std::vector<UncertainAtStart> uncertain_at_start;

  std::string to_json() const;
  static Result<TraceMeta> from_json(const std::string& text);
};

}  // namespace vmatrace
