// One line per event, like strace or perf trace, as text or as JSON lines.
// The same printer serves the live stream (vmatrace without -o) and
// `report --events`.
#pragma once

#include <cstdio>
#include <string>
#include <unordered_map>

#include "events/event.h"

namespace vmatrace {

class EventPrinter {
 public:
  EventPrinter(FILE* out, bool json, uint64_t t0_ns) : out_(out), json_(json), t0_(t0_ns) {}
  void print(const Event& e);

  // The line for e, without a newline; "" for records folded into another line.
  std::string format(const Event& e);

 private:
  std::string text_line(const Event& e, const VmaInfo* vma) const;
  std::string json_line(const Event& e, const VmaInfo* vma) const;

  FILE* out_;
  bool json_;
  uint64_t t0_;
  // The VMA record BPF emits just before a mapping syscall's own record, by tid.
  std::unordered_map<uint32_t, VmaInfo> mapped_;
};

}  // namespace vmatrace
