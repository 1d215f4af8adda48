// A recorded trace as an event source: every event of every whole chunk,
// in order, in one read of the file.
#pragma once

#include <string>

#include "pipeline/sink.h"
#include "record/trace_file.h"

namespace vmatrace {

class TraceFileSource final : public EventSource {
 public:
  static Result<TraceFileSource> open(const std::string& path);
  const TraceMeta& meta() const override { return reader_.meta(); }
  Status run(Sink& sink) override;
  // How the last run() went: chunks, events, why it stopped early.
  const ReadSummary& read() const { return read_; }
  // The chunk indexes alone (no event is decoded).
  Result<FaultTimeline> timeline(uint64_t max_chunks = UINT64_MAX) { return reader_.timeline(max_chunks); }

 private:
  explicit TraceFileSource(TraceReader reader) : reader_(std::move(reader)) {}
  TraceReader reader_;
  ReadSummary read_;
};

}  // namespace vmatrace
