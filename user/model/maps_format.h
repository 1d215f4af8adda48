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

// The fields of a maps line, each as fs/proc/task_mmu.c prints it.
std::string vma_perms(uint64_t vm_flags);  // "rw-p"
uint64_t vma_offset(const VmaInfo& v);      // bytes into the file; 0 without one
std::string format_dev(uint32_t kdev);      // "MAJ:MIN" from a kernel dev_t (major << 20 | minor)
// The name maps prints for a file VMA ("/path", "/path (deleted)"); "" for others.
std::string vma_file_name(const VmaInfo& v);

// "start-end perms offset MAJ:MIN inode" then, if name is not empty, padding
// to column 73 and the name (its bytes, escaped by escape_text: a newline
// as "\012", as the kernel prints it); no newline. show_map_vma(): the prefix
// is printed with seq_setwidth(25 + 6 * sizeof(void *) - 1) and seq_pad(' ').
std::string format_maps_line(const VmaInfo& v, const std::string& name);

// The same line without the padding, and a special mapping's name too
// ("[vdso]"): how an event line shows a VMA.
std::string maps_line(const VmaInfo& v);

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
