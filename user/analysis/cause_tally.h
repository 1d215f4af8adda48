// The causes of a storm's faults, tallied as they go by, and at the end each
// cause with its share and evidence: the process, the VMA, the fork or the
// mprotect calls behind it, and the call chain that took most of its faults.
#pragma once

#include <array>
#include <cstdint>
#include <iterator>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "analysis/storm_cause.h"

namespace vmatrace {

class CallChains;
class Symbolizer;

struct CauseVma {
  std::string name;  // as maps printed it, "[anon]" without one
  uint64_t start = 0, end = 0, flags = 0;
  uint64_t faults = 0;  // of this cause in it
  VmaOrigin origin;     // what made its memory
};

struct Cause {
  CauseKind kind = CauseKind::FirstTouch;
  uint64_t faults = 0;
  double share = 0;  // of the storm's faults, 0..1
  uint64_t read = 0, write = 0, exec = 0, major = 0;  // the rest: access unknown
  uint32_t pid = 0;     // the process with most of them
  std::string command;  // its command
  uint32_t parent = 0;  // 0: unknown
  CauseVma vma;         // the VMA with most of them
  std::optional<ForkRecord> fork;       // CowAfterFork: the fork behind most of them
  std::optional<ProtectCall> mprotect;  // ProtectionChange: the call behind most of them
  uint64_t mprotect_calls = 0;          // ProtectionChange: distinct calls behind them
  uint64_t refused = 0;                 // ProtectionChange: accesses refused before (SIGSEGV)
  uint64_t after_read = 0;              // FirstTouch: writes copying the zero page
  std::vector<std::string> stack;       // the sampled call chain with most of them, innermost first
  uint64_t stack_faults = 0;            // sampled faults with that chain
};

struct StormProcess {
  uint32_t pid = 0;
  std::string command;
  uint32_t parent = 0;  // 0: unknown
  uint64_t faults = 0;
};

// Counts by key; faults come in runs, so the last counter is kept at hand.
template <class K>
class RunCounts {
 public:
  RunCounts() = default;
  RunCounts(const RunCounts& o) : map_(o.map_) {}
  RunCounts& operator=(const RunCounts& o) {
    map_ = o.map_;
    last_ = nullptr;
    return *this;
  }
  // True when k is new.
  bool add(K k, uint64_t n = 1) {
    bool fresh = false;
    if (!last_ || !(k == last_key_)) {
      size_t before = map_.size();
      last_key_ = k;
      last_ = &map_[k];
      fresh = map_.size() != before;
    }
    *last_ += n;
    return fresh;
  }
  // The key with the most, the smallest key among equals.
  std::optional<std::pair<K, uint64_t>> top() const {
    std::optional<std::pair<K, uint64_t>> best;
    for (const auto& [k, n] : map_)
      if (!best || n > best->second || (n == best->second && k < best->first)) best = {k, n};
    return best;
  }
  const std::unordered_map<K, uint64_t>& map() const { return map_; }
  // Removes the keys for which drop(key, n) is true.
  template <class Drop>
  void erase_if(Drop drop) {
    for (auto it = map_.begin(); it != map_.end();) it = drop(it->first, it->second) ? map_.erase(it) : std::next(it);
    last_ = nullptr;
  }

 private:
  std::unordered_map<K, uint64_t> map_;
  K last_key_{};
  uint64_t* last_ = nullptr;
};

class CauseTally {
 public:
  // A completed fault with its cause; vma: the model's last_fault_vma().
  // Lifetimes that have ended are folded into their VMA (below) once enough
  // piled up: memory follows the live VMAs and the ranges, not the churn.
  void add(const FaultCause& c, const Event& e, const std::optional<VmaSpan>& vma, const Model& model);
  void merge(const CauseTally& o);
  uint64_t faults() const { return total_; }
  // Lifetimes whose counts are kept on their own (not yet folded into their VMA).
  size_t lifetimes_kept() const { return seen_.size(); }

  // Biggest first. chains/sym: name call chains (none: no stacks).
  std::vector<Cause> causes(const CauseClassifier& cc, const CallChains* chains, Symbolizer* sym) const;
  // The n processes with most faults.
  std::vector<StormProcess> processes(const CauseClassifier& cc, size_t n) const;

 private:
  // Lifetimes of one process starting at the same address under the same
  // name: one VMA that kept changing (a heap grown by brk, a region opened
  // page by page with mprotect).
  using VmaKey = std::tuple<uint32_t, uint64_t, std::string>;  // pid, start, name
  struct VmaGroup {
    CauseVma vma;       // the range is the union, faults the sum
    uint64_t best = 0;  // faults of the lifetime whose flags and origin stand for the group
    void join(const CauseVma& v, uint64_t faults, uint64_t best_of_v);
  };
  struct PerKind {
    uint64_t faults = 0, read = 0, write = 0, exec = 0, major = 0, refused = 0, after_read = 0;
    RunCounts<uint64_t> by_lifetime, by_evidence;  // evidence: a fork's index, or a call's in calls_
    RunCounts<uint32_t> by_pid;
    RunCounts<int32_t> by_stack;
    std::map<VmaKey, VmaGroup> ended_vmas;  // lifetimes that had ended, folded
  };
  uint64_t call_id(const ProtectCall& c);
  void fill_evidence(const PerKind& k, const CauseClassifier& cc, Cause* out) const;
  void fill_stack(const PerKind& k, const CallChains& chains, Symbolizer* sym, Cause* out) const;
  void fold_ended(const Model& model);

  // A VMA as it was when its first fault here came: by the end of the trace
  // the model may have folded its lifetime into a summary.
  struct SeenVma {
    uint32_t pid = 0;
    CauseVma vma;  // faults: 0
  };
  CauseVma top_vma(const PerKind& k) const;

  std::array<PerKind, kCauseKinds> kinds_;
  std::unordered_map<uint64_t, SeenVma> seen_;  // by lifetime
  RunCounts<uint32_t> pids_;
  uint64_t total_ = 0;
  std::vector<ProtectCall> calls_;
  std::map<std::pair<uint64_t, uint32_t>, uint64_t> call_ids_;  // (ns, tid) -> index in calls_
  size_t fold_at_seen_ = 1024;
  uint64_t fold_at_lifetimes_ = 0;
};

}  // namespace vmatrace
