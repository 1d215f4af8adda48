// What an address-space syscall did to the VMA set, predicted from its
// arguments and result alone: for kernels that give no snapshots (before
// 6.7). Merges depend on state user space cannot see, so this is a best
// guess that /proc resyncs correct; splits and removals are exact.
#pragma once

#include <cstdint>
#include <vector>

#include "events/event.h"
#include "model/address_space.h"

namespace vmatrace {

struct Prediction {
  uint64_t lo = 0, hi = 0;  // bytes [lo, hi] now hold exactly `fresh`
  std::vector<Vma> fresh;
};

// One or two range replacements (mremap moves), none if nothing changed or
// the change cannot be predicted (madvise, mlock: splits only, left to resync).
std::vector<Prediction> predict(const AddressSpace& space, const Event& syscall);

}  // namespace vmatrace
