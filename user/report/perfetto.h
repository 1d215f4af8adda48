// Chrome trace-event JSON that ui.perfetto.dev (and chrome://tracing) open:
// a counter track of the fault rate per busy VMA, instant events for VMA
// changes, and a slice per storm.
#pragma once

#include <string>

#include "analysis/analysis.h"
#include "util/result.h"

namespace vmatrace {

// The whole JSON document (names as util/escape.h's dump_json writes them).
Result<std::string> perfetto_json(const std::string& trace_path, const Analysis& a);

}  // namespace vmatrace
