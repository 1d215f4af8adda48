// The trace output (record/trace_output.h) as a sink of a live recording.
// It must come before the model's sink: a file or flight chunk that starts at
// an event takes the model's VMA set from before that event.
#pragma once

#include "pipeline/sink.h"
#include "record/trace_output.h"

namespace vmatrace {

class TraceOutputSink final : public Sink {
 public:
  // With a flight recorder, SIGUSR1 asks for a dump from here on.
  explicit TraceOutputSink(TraceOutput& out, bool dump_on_sigusr1);
  Status begin(const TraceMeta& meta) override { return out_.begin(meta); }
  void on_event(const Event& e) override {
    if (status_) status_ = out_.append(e);
  }
  Status tick(const Tick& t) override;
  Status flush(const Tick& t) override;
  // --max-size reached without --rotate: the recording ends.
  bool stop_requested() const override { return out_.ended(); }
  Status finish(const LostCounts& lost) override;

 private:
  TraceOutput& out_;
  Status status_ = Ok{};
  // The source's last heartbeat: where the recording ended (detaching the
  // programs after it may take seconds, which the exit dump must not count).
  uint64_t last_tick_ns_ = 0;
};

}  // namespace vmatrace
