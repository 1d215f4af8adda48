// The trace writer as a sink of a live recording: every event into the
// file, chunks flushed once a second with the loss counters so far.
#pragma once

#include "pipeline/sink.h"
#include "record/trace_file.h"

namespace vmatrace {

class TraceWriterSink final : public Sink {
 public:
  explicit TraceWriterSink(TraceWriter& writer) : writer_(writer) {}
  Status begin(const TraceMeta& meta) override { return writer_.write_header(meta); }
  void on_event(const Event& e) override {
    if (status_) status_ = writer_.append(e);
  }
  // A failed write (a full disk) stops the recording at the next poll.
  Status tick(const Tick&) override { return status_; }
  Status flush(const Tick& t) override;
  Status finish(const LostCounts& lost) override;

 private:
  TraceWriter& writer_;
  Status status_ = Ok{};
  uint64_t lost_persisted_ = 0;  // the loss total the file already holds
};

}  // namespace vmatrace
