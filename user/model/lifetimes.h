// Every VMA lifetime of a trace by id, in memory bounded by the live VMAs.
//
// Ids are handed out in order. The newest kWindow ids are kept in a window;
// when an id leaves it, a lifetime still open is kept aside (there are never
// more of those than live VMAs) and an ended one is folded into one summary
// per process and name: its faults, latency histogram, first appearance and
// last end are added up there. A churning process thus costs a bounded
// amount however many VMAs it maps and unmaps. Traces with fewer lifetimes
// than the window lose nothing.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "events/event.h"
#include "util/latency_histogram.h"

namespace vmatrace {

struct FaultStats {
  uint64_t minor = 0, major = 0, read = 0, write = 0, exec = 0;
  LatencyHistogram latency;  // faults with a known access (and so a latency)
  uint64_t total() const { return minor + major; }
  void merge(const FaultStats& o);
};

// What made a lifetime's memory: the change that mapped it, not one that
// only cut or re-flagged it (an mprotect split keeps its piece's origin).
struct VmaOrigin {
  uint64_t ns = 0;      // since trace start
  uint16_t sc = 0;      // vt_syscall (mmap, brk, mremap, shmat...), 0 if none
  uint16_t reason = 0;  // vt_snap_reason (seed: there at start, exec, fork) or kSnapResync
};

// One VMA, from when it appeared (or tracing began) until it changed or went.
struct Lifetime {
  uint32_t pid = 0;
  VmaInfo info;      // at the end (a stack grows)
  std::string name;  // as /proc/PID/maps printed it
  uint64_t appeared_ns = 0;  // since trace start
  std::optional<uint64_t> ended_ns;
  bool at_start = false;  // there when tracing began
  VmaOrigin origin;       // a summary: its first lifetime's
  FaultStats faults;
  // Non-zero: a summary of this many ended lifetimes of pid named name,
  // spanning info.start..info.end, from the first appearance to the last end.
  uint64_t folded = 0;
};

class Lifetimes {
 public:
  static constexpr uint64_t kWindow = 1 << 15;

  uint64_t add(Lifetime l);
  // The lifetime with this id, or null once it has been folded.
  Lifetime* find(uint64_t id);
  // After its end is set: an ended lifetime older than the window folds now.
  void ended(uint64_t id);
  // The lifetime with this id; a folded one reads as a placeholder named
  // "[folded]" (its numbers are in its summary).
  const Lifetime& operator[](uint64_t id) const;
  uint64_t size() const { return next_id_; }  // ids handed out
  bool empty() const { return next_id_ == 0; }
  uint64_t folded() const { return folded_; }
  // The lifetimes kept, in id order, then the folded summaries.
  std::vector<const Lifetime*> all() const;

 private:
  void fold(Lifetime&& l);

  std::deque<Lifetime> window_;  // ids first_id_ ..
  uint64_t first_id_ = 0, next_id_ = 0, folded_ = 0;
  std::unordered_map<uint64_t, Lifetime> open_;  // still open, older than the window
  std::map<std::pair<uint32_t, std::string>, Lifetime> folds_;
  Lifetime placeholder_;
};

}  // namespace vmatrace
