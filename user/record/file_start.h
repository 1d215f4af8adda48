// What a trace file that begins in the middle of a recording (a rotated
// file, a flight-recorder dump) starts with, so that it stands alone: the
// recording's header with its clock moved to that moment and the target's
// VMAs of that moment as its maps, then a whole-address-space snapshot of
// every traced process. A report of the file alone then models every
// process exactly from its first moment.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "events/event.h"
#include "model/model.h"
#include "record/trace_file.h"

namespace vmatrace {

struct FileStart {
  TraceMeta meta;
  std::vector<Event> state;  // per process: its VMA records, then the Snapshot closing them
};

// base: the recording's own header; model: the VMA model of everything
// recorded before ts (and nothing after).
FileStart file_start(const TraceMeta& base, const Model& model, uint64_t ts);

// What a file beginning at ts starts with; called with nothing after ts yet
// applied to the model it reads (a trace sink sees each event before the model).
using FileStartFn = std::function<FileStart(uint64_t ts)>;

// a - b, reason by reason (counters only grow: never below 0).
LostCounts lost_since(const LostCounts& a, const LostCounts& b);

}  // namespace vmatrace
