// One address space (one mm): its VMAs in order, updated in O(log n + k)
// per change, and what /proc/PID/maps would print for it.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "events/event.h"

namespace vmatrace {

struct Vma {
  VmaInfo info;
  uint64_t lifetime = 0;  // index into Model::lifetimes()
};

// Where an address falls: its VMA's range and lifetime.
struct VmaSpan {
  uint64_t start = 0, end = 0, lifetime = 0;
};

class AddressSpace {
 public:
  AddressSpace() = default;
  // find()'s caches point into vmas_: a copy would point into the original.
  AddressSpace(const AddressSpace&) = delete;
  AddressSpace& operator=(const AddressSpace&) = delete;
  AddressSpace(AddressSpace&&) = default;
  AddressSpace& operator=(AddressSpace&&) = default;

  // Called for every VMA that leaves the set, and for every one that enters.
  struct Observer {
    virtual ~Observer() = default;
    virtual void removed(const Vma& v) = 0;
    virtual void added(Vma* v) = 0;
  };

  // The kernel says these are the VMAs overlapping bytes [lo, hi] (hi
  // inclusive; fresh sorted by start): whatever the set held there goes,
  // these come. A VMA equal to one already there is kept as is (its lifetime
  // goes on).
  void replace(uint64_t lo, uint64_t hi, std::vector<Vma> fresh, Observer* obs);
  // Drops everything (exit, exec's old mm).
  void clear(Observer* obs);

  const Vma* find(uint64_t addr) const;
  Vma* find(uint64_t addr);
  // find() without touching the Vma itself: the hot path of every fault.
  const VmaSpan* span_at(uint64_t addr) const;
  // A completed fault outside every VMA just below a VM_GROWSDOWN one: the
  // kernel grew the stack down to the fault's page (expand_downwards).
  Vma* grow_stack_to(uint64_t addr);

  // The name /proc/PID/maps prints for v (fs/proc/task_mmu.c get_vma_name()).
  std::string name_of(const Vma& v) const;
  // Every line of /proc/PID/maps, then vsyscall_line if not empty.
  std::string maps_text(const std::string& vsyscall_line) const;

  size_t size() const { return vmas_.size(); }
  const std::map<uint64_t, Vma>& vmas() const { return vmas_; }

  uint64_t start_brk = 0, brk = 0, start_stack = 0;
  bool heap_strict = true;  // 6.6+: a VMA only touching the heap range is not [heap]
  bool brk_known = false;   // false until a kernel snapshot: /proc names stand in

 private:
  // After vmas_ changed for starts in [lo, hi]: index_ follows, caches go.
  void reindex(uint64_t lo, uint64_t hi);

  std::map<uint64_t, Vma> vmas_;  // by start
  std::vector<Vma> old_buf_;      // reused by replace()
  // find()'s index of vmas_: a branch-free binary search over a flat array
  // of starts stays within a few cache lines and mispredicts nothing, where
  // the map's walk missed the cache and the branch predictor at every level.
  // A change moves the entries after it: a memmove, cheap next to the
  // lookups of the faults in between (faults far outnumber VMA changes).
  struct IndexEntry {
    VmaSpan span;
    Vma* vma;
  };
  const IndexEntry* lookup(uint64_t addr) const;
  std::vector<uint64_t> index_start_;  // index_[i].span.start
  std::vector<IndexEntry> index_;
  // lookup()'s last two answers (index_ positions): faults alternate between
  // the data they touch and the code that touches it.
  mutable size_t last_found_[2] = {0, 0};
};

}  // namespace vmatrace
