// One line per event, like strace or perf trace, as text or as JSON lines.
// The same printer serves the live stream (vmatrace without -o) and
// `report --events`.
#pragma once

#include <cstdio>
#include <string>
#include <unordered_map>
#include <vector>

#include "events/event.h"
#include "pipeline/sink.h"

namespace vmatrace {

class EventPrinter final : public Sink {
 public:
  EventPrinter(FILE* out, bool json, uint64_t t0_ns) : out_(out), json_(json), t0_(t0_ns) {}
  void print(const Event& e);
  void on_event(const Event& e) override { print(e); }
  // A live reader of the stream sees each poll's lines at once.
  Status tick(const Tick&) override {
    fflush(out_);
    return Ok{};
  }
  Status finish(const LostCounts&) override {
    fflush(out_);
    return Ok{};
  }

  // The line for e, without a newline; "" for records folded into another line.
  std::string format(const Event& e);

 private:
  std::string text_line(const Event& e, const VmaInfo* vma) const;
  std::string json_line(const Event& e, const VmaInfo* vma) const;

  FILE* out_;
  bool json_;
  uint64_t t0_;
  // VMA records BPF emitted before a syscall's own record, by tid: the
  // syscall line shows the one its result lies in.
  std::unordered_map<uint32_t, std::vector<VmaInfo>> recent_vmas_;
};

}  // namespace vmatrace
