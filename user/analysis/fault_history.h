// What a process did before a fault that explains it: the mprotect calls that
// last covered each page (kept while recent), and which anonymous pages it
// first touched by reading (on kernels with the shared zero page, the first
// write to such a page is a protection fault that copies the zero page).
#pragma once

#include <bitset>
#include <cstdint>
#include <map>
#include <unordered_map>

namespace vmatrace {

// One successful mprotect or pkey_mprotect.
struct ProtectCall {
  uint64_t ns = 0;  // since trace start
  uint32_t pid = 0, tid = 0;
  uint16_t sc = 0;  // VT_SC_MPROTECT or VT_SC_PKEY_MPROTECT
  uint64_t addr = 0, len = 0, prot = 0;
};

// The latest mprotect over each page of one process, forgotten once older
// than the window.
class RecentProtects {
 public:
  explicit RecentProtects(uint64_t window_ns) : window_ns_(window_ns) {}
  void add(const ProtectCall& c);
  // The latest call that covered addr no more than the window before now_ns.
  const ProtectCall* covering(uint64_t addr, uint64_t now_ns) const;
  size_t size() const { return by_start_.size(); }

 private:
  struct Span {
    uint64_t end;
    ProtectCall call;
  };
  void forget_older_than(uint64_t ns);

  uint64_t window_ns_;
  std::map<uint64_t, Span> by_start_;  // disjoint
  size_t prune_at_ = 1024;
};

// Pages (of each process, until it execs or exits) whose first fault was a read.
class ReadPages {
 public:
  void add(uint32_t pid, uint64_t addr);
  bool has(uint32_t pid, uint64_t addr) const;
  void forget(uint32_t pid);

 private:
  static constexpr unsigned kPagesPerRegion = 512;  // 2 MiB of 4 KiB pages
  using Regions = std::unordered_map<uint64_t, std::bitset<kPagesPerRegion>>;
  std::unordered_map<uint32_t, Regions> by_pid_;
  // Reads come in runs through one region.
  uint32_t last_pid_ = 0;
  uint64_t last_region_ = UINT64_MAX;
  std::bitset<kPagesPerRegion>* last_bits_ = nullptr;
};

}  // namespace vmatrace
