// One address space (one mm): its VMAs in order, updated in O(log n + k)
// per change, and what /proc/PID/maps would print for it.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "events/event.h"
#include "model/range_stamps.h"
#include "model/vma_index.h"

namespace vmatrace {

struct Vma {
  VmaInfo info;
  uint64_t lifetime = 0;  // index into Model::lifetimes()
};


class AddressSpace {
 public:
  AddressSpace() = default;
  // The index points into vmas_: a copy would point into the original.
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
  // goes on), unless it lies inside [renew_lo, renew_end): memory a mmap
  // made anew there. false, and nothing changes, if the change is not one
  // the kernel can make (see well_formed()).
  bool replace(uint64_t lo, uint64_t hi, std::vector<Vma> fresh, Observer* obs, uint64_t renew_lo = 0,
               uint64_t renew_end = 0);
  // lo <= hi, and fresh are non-empty, page-aligned, in order and apart: what
  // replace() relies on (a crafted trace can claim anything).
  static bool well_formed(uint64_t lo, uint64_t hi, const std::vector<Vma>& fresh);
  // The bytes replace(lo, hi, fresh) speaks for, [first, last]: the pages of
  // [lo, hi] and every VMA in fresh.
  static RangeStamps::Range cover(uint64_t lo, uint64_t hi, const std::vector<Vma>& fresh);
  // v from start on (start inside v): a file mapping's upper part maps the
  // file further on (split_vma).
  static Vma upper_part(const Vma& v, uint64_t start);
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
  uint64_t resynced_at = 0;  // when /proc was last read for this set
  RangeStamps snapshot_stamps;  // when kernel snapshots last spoke for each part
  // While the set may differ from the kernel's (events about it were lost):
  // the Model's record of it (index into Model::uncertainties()).
  std::optional<size_t> uncertain;
  uint32_t pid = 0;  // the process it was first seen in

 private:
  // vmas_ changed for starts in [lo, hi], where it now holds `now`: index_
  // follows, caches go.
  void reindex(uint64_t lo, uint64_t hi, const std::vector<VmaIndex::Entry>& now);

  const VmaIndex::Entry* lookup(uint64_t addr) const;

  std::map<uint64_t, Vma> vmas_;  // by start: owns the VMAs, in order
  std::vector<Vma> old_buf_;      // reused by replace()
  VmaIndex index_;                // find()'s way to them, kept in step
  std::vector<VmaIndex::Entry> index_buf_;  // reused by replace()
  // lookup()'s last two answers: faults come in runs on one VMA, and
  // alternate between the data they touch and the code touching it.
  mutable VmaIndex::Entry recent_[2];
};

}  // namespace vmatrace
