// Small formatting helpers shared by the reports.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "events/event.h"

namespace vmatrace {

double seconds_since(uint64_t ts, uint64_t t0);
std::string hex_addr(uint64_t v);
std::string format_duration(uint64_t ns);  // "1.2us", "340ns", "1.50ms"
// "MAJ:MIN" from a kernel dev_t (major << 20 | minor)
std::string format_dev(uint32_t kdev);
// start-end perms offset dev inode name, as /proc/PID/maps prints it (without padding).
std::string maps_line(const VmaInfo& v);
nlohmann::ordered_json vma_json(const VmaInfo& v);

}  // namespace vmatrace
