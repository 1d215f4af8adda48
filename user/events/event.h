// The decoded, host-side form of every event: what the recorder, the trace
// file and the reports share. Raw ring-buffer records become Events in
// decode.cpp; trace files store Events (record/codec.cpp).
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace vmatrace {

enum class Kind : uint8_t {
  Syscall = 1,
  Fault = 2,
  Vma = 3,
  Exec = 4,
  Fork = 5,
  Exit = 6,
  Snapshot = 8,  // the kernel's VMAs in a range: closes the Vma records before it
  Stack = 9,     // trace-file only: the frames of a sampled user stack (--stacks)
  Stats = 7,     // trace-file only: counters of what could not be recorded
};

// vt_snap_reason, plus reasons only user space produces.
constexpr uint16_t kSnapResync = 100;  // re-read from /proc/PID/maps (no kernel snapshot)
// Re-read while the process changed its mappings: what /proc showed may miss
// or hold a change of those moments. Sent only to repair a model that events
// were lost from, which it leaves uncertain (a clean read ends that).
constexpr uint16_t kSnapResyncRacy = 101;
inline bool is_resync(uint16_t snap_reason) { return snap_reason == kSnapResync || snap_reason == kSnapResyncRacy; }

struct VmaInfo {
  uint64_t start = 0, end = 0, flags = 0, pgoff = 0, ino = 0;
  uint32_t dev = 0;         // kernel dev_t: major << 20 | minor
  uint32_t path_flags = 0;  // VT_PATH_*
  uint16_t reason = 0;      // vt_vma_reason
  std::string path;         // absolute path, without " (deleted)"

  bool operator==(const VmaInfo& o) const;
};

// What the kernel could not hand over, by vt_lost_reason.
struct LostCounts {
  std::vector<uint64_t> by_reason;
  uint64_t total() const;
  bool operator==(const LostCounts& o) const { return by_reason == o.by_reason; }
};

struct Event {
  Kind kind = Kind::Syscall;
  uint64_t ts = 0;  // CLOCK_MONOTONIC ns
  uint32_t pid = 0, tid = 0;

  // Syscall
  uint16_t sc = 0;  // vt_syscall
  uint32_t duration_ns = 0;
  int64_t ret = 0;
  std::array<uint64_t, 6> args{};

  // Fault
  uint64_t addr = 0, ip = 0;
  uint32_t latency_ns = 0;
  uint16_t error_code = 0, fault_flags = 0;
  int32_t stack_id = -1;  // Fault: its sampled stack; Stack: which one this is

  // Stack: instruction pointers, innermost first
  std::vector<uint64_t> stack;

  // Vma
  VmaInfo vma;

  // Exec
  uint32_t old_tid = 0;
  std::string filename;

  // Fork
  uint32_t child_pid = 0, child_tid = 0, fork_flags = 0;

  // Exit
  int32_t exit_code = 0;
  uint32_t exit_flags = 0;

  // Address space: Snapshot's, Exec's new one, Fork's child's.
  uint64_t mm = 0;

  // Snapshot: the VMAs overlapping bytes [lo, hi] are the `count` Vma records
  // of the same tid before it (sc: the syscall behind it, if any).
  uint64_t lo = 0, hi = 0, start_brk = 0, brk = 0, start_stack = 0;
  uint32_t count = 0;
  int32_t status = 0;
  uint16_t snap_reason = 0;

  // Stats
  LostCounts lost;
  bool final_stats = false;

  bool operator==(const Event& o) const;
  // A fault that the kernel finished handling (the ones timelines count).
  bool complete_fault() const;
  // When it began: a syscall's entry (its ts is its return); ts for the rest.
  uint64_t began_ns() const;
  // Back to a default Event, keeping string and vector capacity for reuse.
  void reset();
};

// Whether sc is a vt_syscall that a Syscall event may carry (both decoders
// refuse others: summaries and names index tables by it).
bool known_syscall(uint64_t sc);

// Decodes one ring-buffer record; nullopt (never a crash) when it is malformed.
std::optional<Event> decode_record(const void* data, size_t size);

// Calls fn for each record a ring-buffer sample holds: itself, or the records
// of a VT_EV_BATCH. Returns how many were malformed (not passed on).
size_t for_each_record(const void* data, size_t size, const std::function<void(Event&)>& fn);

}  // namespace vmatrace
