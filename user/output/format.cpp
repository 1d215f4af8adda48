#include "output/format.h"

#include <cinttypes>
#include <cstdio>

#include "model/maps_format.h"
#include "util/escape.h"

namespace vmatrace {

double seconds_since(uint64_t ts, uint64_t t0) {
  return static_cast<double>(static_cast<int64_t>(ts - t0)) / 1e9;
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

nlohmann::ordered_json vma_json(const VmaInfo& v) {
  nlohmann::ordered_json j;
  j["start"] = v.start;
  j["end"] = v.end;
  j["perms"] = vma_perms(v.flags);
  j["offset"] = vma_offset(v);
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
  m.syscall_hook = escape_text(meta.syscall_hook);
  return m;
}

}  // namespace vmatrace
