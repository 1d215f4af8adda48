// The small formatting helpers every writer of user/output/ shares: times,
// addresses, a VMA as a JSON object, a trace header made printable.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "events/event.h"
#include "events/trace_meta.h"
#include "util/strprintf.h"

namespace vmatrace {

double seconds_since(uint64_t ts, uint64_t t0);
std::string format_duration(uint64_t ns);  // "1.2us", "340ns", "1.50ms"
// The VMA's maps fields as JSON members (the path as bytes, " (deleted)" kept).
nlohmann::ordered_json vma_json(const VmaInfo& v);
// The header with its names (command line, hostname, kernel release) escaped
// by escape_text, for reports that print them as they are.
TraceMeta meta_for_text(const TraceMeta& meta);

}  // namespace vmatrace
