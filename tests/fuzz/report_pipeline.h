// What the fuzzers drive: everything `vmatrace report` does with a trace file.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace vmatrace::fuzz {

// Every report of the trace at path, written to /dev/null: the summary and
// storms as text and JSON, every event as text and JSON lines, the maps of
// every process, per-VMA JSON, the heatmap (SVG and HTML), Perfetto and
// folded stacks. Errors are fine; crashes, leaks and undefined behaviour are
// what the sanitizers look for.
void run_report_pipeline(const std::string& path);

// A file holding data that the reader can open by name: a memfd, seen
// through /proc/self/fd (a regular file, never on disk).
class MemFile {
 public:
  MemFile(const uint8_t* data, size_t size);
  ~MemFile();
  MemFile(const MemFile&) = delete;
  MemFile& operator=(const MemFile&) = delete;
  const std::string& path() const { return path_; }

 private:
  int fd_;
  std::string path_;
};

}  // namespace vmatrace::fuzz
