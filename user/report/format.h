// Small formatting helpers shared by the reports.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "events/event.h"
#include "record/trace_file.h"

namespace vmatrace {

double seconds_since(uint64_t ts, uint64_t t0);
std::string hex_addr(uint64_t v);
std::string format_duration(uint64_t ns);  // "1.2us", "340ns", "1.50ms"
// "MAJ:MIN" from a kernel dev_t (major << 20 | minor)
std::string format_dev(uint32_t kdev);
// start-end perms offset dev inode name, as /proc/PID/maps prints it (without
// padding; the name escaped by escape_text).
std::string maps_line(const VmaInfo& v);
nlohmann::ordered_json vma_json(const VmaInfo& v);
// The header with its names (command line, hostname, kernel release) escaped
// by escape_text, for reports that print them as they are.
TraceMeta meta_for_text(const TraceMeta& meta);

}  // namespace vmatrace
