// The largest single allocation made through operator new while a probe is
// alive: how a test checks that a small file cannot make a reader ask for a
// large block (the vector sized by a count read from the file).
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

}  // namespace vmatrace
