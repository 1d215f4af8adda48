// The VMA model: every traced process's address space at every moment of a
// trace, rebuilt from the recorded events alone, and every fault charged to
// the VMA lifetime that contained it.
//
// Kernel snapshots (VT_EV_SNAPSHOT with their VMA records) replace ranges
// exactly; exec, fork and exit switch, copy and end address spaces; a fault
// below a stack grows it. Processes are keyed by the address space they use
// (threads and vfork children share one).
#pragma once

#include <cstdint>
#include <algorithm>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "events/event.h"
#include "model/address_space.h"
#include "model/lifetimes.h"
#include "events/trace_meta.h"

namespace vmatrace {

// A stretch of time in which a process's VMA set in the model may differ
// from the kernel's: events about it were lost (ring buffer full, a snapshot
// that failed) or could not be applied. It lasts until the process's next
// good snapshot of its whole address space (exec, fork, resync, a rename or
// unlink by the target) or the end of its address space.
struct Uncertainty {
  uint32_t pid = 0;
  uint64_t from_ns = 0;           // since trace start
  std::optional<uint64_t> to_ns;  // none: until the end of the trace
  std::string reason;
};

struct ModelStats {
  uint64_t snapshots = 0, snapshots_failed = 0, resyncs = 0;  // failed: also malformed ones
  uint64_t resyncs_during_changes = 0;  // of resyncs: kSnapResyncRacy
  uint64_t resyncs_malformed = 0;       // /proc reads left out, not in resyncs
  uint64_t faults_charged = 0, faults_unmapped = 0, stack_growths = 0;
  uint64_t orphan_vma_records = 0;  // records whose snapshot record never came
  // snapshots (whole or in part) and predictions older than a /proc read, or
  // than a snapshot of the same range, already applied
  uint64_t superseded = 0;
  std::vector<Uncertainty> uncertain;  // in the order they began
};

class Model : private AddressSpace::Observer {
 public:
  // Seeds the target from the header's /proc/PID/maps (used until the kernel's
  // own snapshot of it arrives, or for good on kernels without one).
  explicit Model(const TraceMeta& meta);
  void apply(const Event& e);

  // The address space pid uses now, if any.
  const AddressSpace* space_of(uint32_t pid) const;
  // /proc/PID/maps as it was; first a "# vmatrace: UNCERTAIN ..." line while
  // the process's set may differ from the kernel's (see Uncertainty).
  std::string maps_text(uint32_t pid) const;
  // Every stretch of uncertainty, in the order they began.
  const std::vector<Uncertainty>& uncertainties() const { return stats_.uncertain; }
  const Lifetimes& lifetimes() const { return lifetimes_; }
  // Lifetimes still open get their current name (brk may have moved since).
  void refresh_open_names();
  const ModelStats& stats() const { return stats_; }
  bool exited(uint32_t pid) const { return exited_.count(pid) > 0; }
  // The address space pid uses now (0: none known).
  uint64_t mm_of(uint32_t pid) const;
  struct LiveProcess {
    uint32_t pid;
    uint64_t mm;
    const AddressSpace* space;
  };
  // Every process that has not exited, with the space it uses now, by pid:
  // what a trace file starting now must begin with (record/file_start.h).
  std::vector<LiveProcess> live_processes() const;
  // Some address space is marked uncertain (its process may have ended).
  bool any_uncertain() const { return certain_.size() < spaces_.size(); }
  // The VMA (range and lifetime) the last applied fault was charged to (none: outside VMAs).
  const std::optional<VmaSpan>& last_fault_vma() const { return last_fault_vma_; }
  // The lifetime of the VMA holding addr in pid's address space now.
  std::optional<uint64_t> lifetime_at(uint32_t pid, uint64_t addr) const;
  // Goes up whenever a VMA comes or goes: answers about the VMA set taken at
  // the same version still hold.
  uint64_t version() const { return version_; }

 private:
  void removed(const Vma& v) override;
  void added(Vma* v) override;

  AddressSpace& space_for(uint32_t pid, uint64_t mm);
  // false if the change is malformed (nothing changed; the space is marked uncertain).
  // [renew_lo, renew_end): where the change made new memory (a mmap's own
  // range), even over an identical VMA.
  bool replace(AddressSpace& space, uint32_t pid, uint64_t ts, bool at_start, uint64_t lo, uint64_t hi,
               std::vector<Vma> fresh, VmaOrigin why = {}, uint64_t renew_lo = 0, uint64_t renew_end = 0);
  void inherit(AddressSpace& child, const Event& fork);
  VmaOrigin origin_of(const VmaInfo& fresh) const;
  void apply_snapshot(const Event& e);
  void replace_where_newest(AddressSpace& space, const Event& snapshot, std::vector<Vma> fresh, VmaOrigin why);
  void apply_stats(const Event& e);
  // The space an event naming pid and its address space mm concerns (none:
  // mm unknown and pid has none in the model).
  AddressSpace* space_named(uint32_t pid, uint64_t mm);
  // The space of address space mm, made (first seen in pid) if new.
  AddressSpace& space_at(uint64_t mm, uint32_t pid);
  void mark_uncertain(AddressSpace& space, uint32_t pid, uint64_t ts, std::string reason);
  void mark_certain(AddressSpace& space, uint64_t ts);
  void apply_fault(const Event& e);
  void apply_prediction(const Event& e);
  void end_space(uint64_t mm);
  void end_process(uint32_t pid, uint64_t ts);
  void end_lifetime(const Vma& v, const AddressSpace& space, uint64_t ts);
  uint64_t rel(uint64_t ts) const { return ts > t0_ ? ts - t0_ : 0; }
  void note_time(uint64_t ts) { now_ = std::max(now_, ts); }

  uint64_t t0_;
  std::string vsyscall_line_;
  bool heap_strict_;
  bool predict_;  // no kernel snapshots in this trace: predict from syscalls
  std::unordered_map<uint32_t, VmaInfo> mapped_;  // bpf_find_vma records by tid (predict mode)
  std::unordered_map<uint64_t, AddressSpace> spaces_;  // by mm
  std::unordered_map<uint32_t, uint64_t> mm_of_pid_;
  std::unordered_map<uint32_t, std::vector<VmaInfo>> pending_;  // Vma records by tid
  std::unordered_map<uint32_t, uint64_t> exited_;  // pid: when its last thread exited
  // For apply_stats(), which must not visit every process each time: the
  // spaces not marked uncertain, and those marked since the last Stats record.
  std::unordered_set<AddressSpace*> certain_;
  // A rotated file's processes whose opening snapshot is the recorder's guess.
  std::unordered_map<uint32_t, std::string> uncertain_at_start_;
  std::vector<AddressSpace*> marked_lately_;
  LostCounts lost_;           // as of the last Stats record
  uint64_t lost_since_ = 0;   // that record's time (losses since then happened after it)
  uint64_t now_ = 0;          // the latest event's time
  Lifetimes lifetimes_;
  ModelStats stats_;
  std::optional<VmaSpan> last_fault_vma_;
  uint64_t version_ = 0;
  uint32_t fault_pid_ = 0;                  // apply_fault's cache: the last faulting
  AddressSpace* fault_space_ = nullptr;     // process and its space (reset on any switch)
  // Context for the observer callbacks.
  uint32_t cur_pid_ = 0;
  uint64_t cur_ts_ = 0;
  const AddressSpace* cur_space_ = nullptr;
  bool cur_at_start_ = false;
  VmaOrigin cur_why_;  // the change being applied
  uint64_t cur_renew_lo_ = 0, cur_renew_end_ = 0;  // its new memory
  struct Gone {
    uint64_t start, end;
    VmaOrigin origin;
  };
  std::vector<Gone> cur_removed_;  // by the change being applied: where pieces come from
};

// Whether a kernel release labels only VMAs overlapping the heap (6.6+).
bool heap_label_is_strict(const std::string& kernel_release);

}  // namespace vmatrace
