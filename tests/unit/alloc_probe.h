// What is allocated through operator new. The largest single allocation
// while a probe is alive: how a test checks that a small file cannot make a
// reader ask for a large block (the vector sized by a count read from the
// file). The heap in use at its peak while a probe is alive: how a test
// checks that memory does not grow with the events.
#pragma once

#include <cstddef>

namespace vmatrace {

class LargestAllocation {
 public:
  LargestAllocation();
  ~LargestAllocation();
  LargestAllocation(const LargestAllocation&) = delete;
  LargestAllocation& operator=(const LargestAllocation&) = delete;
  size_t bytes() const;
};

class PeakHeap {
 public:
  PeakHeap();  // the peak starts at what is in use now
  ~PeakHeap();
  PeakHeap(const PeakHeap&) = delete;
  PeakHeap& operator=(const PeakHeap&) = delete;
  // The most in use at once since the probe began, above what was in use then.
  size_t bytes() const;
};

}  // namespace vmatrace
