// /proc/PID/maps text, both ways: printing a VMA exactly as
// fs/proc/task_mmu.c does, and parsing it back (seeding, resync).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "events/event.h"

namespace vmatrace {

// vm_flags bits that /proc/PID/maps shows (include/linux/mm.h).
constexpr uint64_t kVmRead = 0x1, kVmWrite = 0x2, kVmExec = 0x4, kVmMayShare = 0x80,
                   kVmGrowsDown = 0x100;

// "start-end perms offset MAJ:MIN inode" then, if name is not empty, padding
// to column 73 and the name (its bytes, escaped by escape_text: a newline
// as "\012", as the kernel prints it); no newline. show_map_vma(): the prefix
// is printed with seq_setwidth(25 + 6 * sizeof(void *) - 1) and seq_pad(' ').
std::string format_maps_line(const VmaInfo& v, const std::string& name);

struct MapsLine {
  VmaInfo vma;       // flags hold only read/write/exec/mayshare; any other name
                     // ("[heap]", "[vdso]") is kept as a VT_PATH_SPECIAL path
  std::string name;  // its bytes (the kernel's "\012" undone): a path, "[heap]", "[vdso]", "" ...
};

// Takes a trailing " (deleted)" off a maps path; true if there was one.
bool strip_deleted(std::string* path);

// Parses /proc/PID/maps text; lines that do not parse are skipped.
// Names come back as bytes (unescape_maps_name).
std::vector<MapsLine> parse_maps(const std::string& text);

}  // namespace vmatrace
