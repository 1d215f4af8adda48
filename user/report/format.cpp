#include "report/format.h"

#include <cinttypes>
#include <cstdio>

#include "events/abi.h"
#include "events/names.h"
#include "model/maps_format.h"
#include "util/escape.h"

namespace vmatrace {

double seconds_since(uint64_t ts, uint64_t t0) {
  return static_cast<double>(static_cast<int64_t>(ts - t0)) / 1e9;
}

std::string hex_addr(uint64_t v) {
  char buf[24];
  snprintf(buf, sizeof(buf), "0x%" PRIx64, v);
  return buf;
}

std::string format_duration(uint64_t ns) {
  char buf[32];
  if (ns < 1000)
    snprintf(buf, sizeof(buf), "%" PRIu64 "ns", ns);
  else if (ns < 1000000)
    snprintf(buf, sizeof(buf), "%.1fus", ns / 1e3);
  else if (ns < 1000000000)
    snprintf(buf, sizeof(buf), "%.2fms", ns / 1e6);
  else
    snprintf(buf, sizeof(buf), "%.3fs", ns / 1e9);
  return buf;
}

std::string format_dev(uint32_t kdev) {
  char buf[24];
  snprintf(buf, sizeof(buf), "%02x:%02x", kdev >> 20, kdev & 0xfffff);
  return buf;
}

std::string maps_line(const VmaInfo& v) {
  // The kernel's line without its padding: fine inside an event line.
  std::string line = format_maps_line(v, "");
  std::string name = vma_file_name(v);
  if (name.empty()) name = (v.path_flags & VT_PATH_SPECIAL) ? v.path : "";
  if (name.empty()) line.pop_back();  // the trailing space
  return line + escape_text(name);
}

nlohmann::ordered_json vma_json(const VmaInfo& v) {
  nlohmann::ordered_json j;
  j["start"] = v.start;
  j["end"] = v.end;
  j["perms"] = vma_perms(v.flags);
  j["offset"] = (v.path_flags & VT_PATH_FILE) ? v.pgoff << 12 : 0;
  j["dev"] = format_dev(v.dev);
  j["inode"] = v.ino;
  j["path"] = vma_file_name(v);
  j["vm_flags"] = v.flags;
  return j;
}

TraceMeta meta_for_text(const TraceMeta& meta) {
  TraceMeta m = meta;
  for (auto& arg : m.command) arg = escape_text(arg);
  m.hostname = escape_text(meta.hostname);
  m.kernel_release = escape_text(meta.kernel_release);
  m.flight_trigger = escape_text(meta.flight_trigger);
  return m;
}

}  // namespace vmatrace
