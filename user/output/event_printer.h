// One line per event, like strace or perf trace, as text or as JSON lines
// (output/text_output.cpp and json_output.cpp write them). The same printer
// serves the live stream (vmatrace without -o) and `report --events`.
#pragma once

#include <cstdio>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "events/event.h"
#include "output/output.h"
#include "pipeline/sink.h"

namespace vmatrace {

class EventPrinter final : public Sink {
 public:
  EventPrinter(FILE* out, bool json, uint64_t t0_ns)
      : out_(out), writer_(make_output(json ? OutputFormat::Json : OutputFormat::Text)), t0_(t0_ns) {}
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
  FILE* out_;
  std::unique_ptr<Output> writer_;  // how a line looks
  uint64_t t0_;
  // VMA records BPF emitted before a syscall's own record, by tid: the
  // syscall line shows the one its result lies in.
  std::unordered_map<uint32_t, std::vector<VmaInfo>> recent_vmas_;
};

}  // namespace vmatrace
