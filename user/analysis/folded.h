// Folded stacks ("comm;outer;inner count" lines) of the faults whose user
// stack was sampled with --stacks: input for FlameGraph and speedscope.
#pragma once

#include <string>

#include "util/result.h"

namespace vmatrace {

struct FoldedStacks {
  std::string text;     // one "comm;outer;...;inner count" line per stack, names escaped by escape_text
  uint64_t stacks = 0;  // distinct folded lines
  uint64_t faults = 0;  // faults with a stack
  uint64_t lost = 0;    // faults whose stack could not be taken
};

// Reads the trace twice (stacks are written after the faults naming them).
Result<FoldedStacks> fold_stacks(const std::string& trace_path);

}  // namespace vmatrace
