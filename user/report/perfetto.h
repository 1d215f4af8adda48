// Chrome trace-event JSON that ui.perfetto.dev (and chrome://tracing) open:
// a counter track of the fault rate per busy VMA, instant events for VMA
// changes, and a slice per storm.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "analysis/analysis.h"
#include "pipeline/sink.h"

namespace vmatrace {

// A sink of the report's pass: the instant events, one per address-space change.
class PerfettoCollector final : public Sink {
 public:
  explicit PerfettoCollector(const TraceMeta& meta);
  void on_event(const Event& e) override;
  // The whole JSON document (names as util/escape.h's dump_json writes them),
  // with the counters and slices of the analysis of the same pass.
  std::string json(const Analysis& a);

 private:
  uint64_t t0_;
  uint32_t pid_;
  nlohmann::json events_ = nlohmann::json::array();
};

}  // namespace vmatrace
