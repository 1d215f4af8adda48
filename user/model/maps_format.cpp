#include "model/maps_format.h"

#include <cinttypes>
#include <cstdio>
#include <sstream>

#include "events/abi.h"
#include "util/escape.h"

namespace vmatrace {

std::string vma_perms(uint64_t f) {
  std::string p = "----";
  if (f & kVmRead) p[0] = 'r';
  if (f & kVmWrite) p[1] = 'w';
  if (f & kVmExec) p[2] = 'x';
  p[3] = (f & kVmMayShare) ? 's' : 'p';
  return p;
}

uint64_t vma_offset(const VmaInfo& v) { return (v.path_flags & VT_PATH_FILE) ? v.pgoff << 12 : 0; }

std::string format_dev(uint32_t kdev) {
  char buf[24];
  snprintf(buf, sizeof(buf), "%02x:%02x", kdev >> 20, kdev & 0xfffff);
  return buf;
}

std::string vma_file_name(const VmaInfo& v) {
  if (!(v.path_flags & VT_PATH_FILE)) return "";
  std::string name = v.path;
  if (v.path_flags & VT_PATH_DELETED) name += " (deleted)";
  return name;
}

std::string format_maps_line(const VmaInfo& v, const std::string& name) {
  char buf[128];
  int n = snprintf(buf, sizeof(buf), "%08" PRIx64 "-%08" PRIx64 " %s %08" PRIx64 " %s %" PRIu64 " ", v.start, v.end,
                   vma_perms(v.flags).c_str(), vma_offset(v), format_dev(v.dev).c_str(), v.ino);
  std::string line(buf, n > 0 ? static_cast<size_t>(n) : 0);
  if (name.empty()) return line;
  constexpr size_t kNameColumn = 25 + 6 * sizeof(void*) - 1;
  if (line.size() < kNameColumn) line.append(kNameColumn - line.size(), ' ');
  line += ' ';
  line += escape_text(name);
  return line;
}

std::string maps_line(const VmaInfo& v) {
  std::string line = format_maps_line(v, "");
  std::string name = vma_file_name(v);
  if (name.empty()) name = (v.path_flags & VT_PATH_SPECIAL) ? v.path : "";
  if (name.empty()) line.pop_back();  // the trailing space
  return line + escape_text(name);
}

bool strip_deleted(std::string* path) {
  static const std::string kDeleted = " (deleted)";
  if (path->size() <= kDeleted.size() ||
      path->compare(path->size() - kDeleted.size(), kDeleted.size(), kDeleted) != 0)
    return false;
  path->resize(path->size() - kDeleted.size());
  return true;
}

std::vector<MapsLine> parse_maps(const std::string& text) {
  std::vector<MapsLine> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    unsigned long long start, end, offset, ino;
    unsigned major, minor;
    char perms[5] = {};
    int name_at = 0;
    if (sscanf(line.c_str(), "%llx-%llx %4s %llx %x:%x %llu %n", &start, &end, perms, &offset, &major, &minor,
               &ino, &name_at) < 7)
      continue;
    MapsLine m;
    m.vma.start = start;
    m.vma.end = end;
    m.vma.flags = (perms[0] == 'r' ? kVmRead : 0) | (perms[1] == 'w' ? kVmWrite : 0) |
                  (perms[2] == 'x' ? kVmExec : 0) | (perms[3] == 's' ? kVmMayShare : 0);
    m.vma.ino = ino;
    m.vma.dev = (major << 20) | minor;
    m.name = name_at > 0 ? unescape_maps_name(std::string_view(line).substr(static_cast<size_t>(name_at))) : "";
    if (!m.name.empty() && m.name[0] == '/') {
      m.vma.path_flags = VT_PATH_FILE;
      m.vma.pgoff = offset >> 12;
      m.vma.path = m.name;
      if (strip_deleted(&m.vma.path)) m.vma.path_flags |= VT_PATH_DELETED;
    } else if (!m.name.empty()) {
      m.vma.path_flags = VT_PATH_SPECIAL;
      m.vma.path = m.name;
      // maps does not print VM_GROWSDOWN, but the main stack always has it:
      // a model seeded or resynced from here must grow it on faults below.
      if (m.name == "[stack]") m.vma.flags |= kVmGrowsDown;
    }
    out.push_back(std::move(m));
  }
  return out;
}

}  // namespace vmatrace
