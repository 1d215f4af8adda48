// The shape of every vmatrace command: one event source (a live BPF session,
// or a trace file) streams events in order to sinks (the trace writer, the
// VMA model, the summary, the printer, the analyses). Which sinks take part
// is decided in cli/ alone; a new consumer of the stream is a new Sink.
#pragma once

#include <cstdint>
#include <vector>

#include "events/event.h"
#include "events/trace_meta.h"
#include "util/result.h"

namespace vmatrace {

// A live source's heartbeat. Sinks that keep state in time (a live view, a
// writer's chunks) act on it; a trace file's replay never ticks.
struct Tick {
  uint64_t now_ns = 0;  // CLOCK_MONOTONIC
  LostCounts lost;      // what the kernel dropped so far, cumulative
};

// One consumer of the event stream. A sink that needs the VMA set holds a
// reference to the Model (pipeline/model_sink.h) placed before it.
class Sink {
 public:
  virtual ~Sink() = default;
  // Before the first event: the trace's header.
  virtual Status begin(const TraceMeta&) { return Ok{}; }
  // Every event, in order. Called per event: no allocation that grows with them.
  virtual void on_event(const Event& e) = 0;
  // After each poll of a live source (every ~100 ms).
  virtual Status tick(const Tick&) { return Ok{}; }
  // About once a second of a live source: a sink that buffers writes it out
  // (a trace cut short keeps what was flushed).
  virtual Status flush(const Tick&) { return Ok{}; }
  // A sink may ask a live source to stop (the live view's quit key).
  virtual bool stop_requested() const { return false; }
  // After the last event. lost: the final totals.
  virtual Status finish(const LostCounts&) { return Ok{}; }
};

// Several sinks as one, each called in the order added. The first failure
// of a callback is returned; the sinks after it are still called for
// events, never for begin/tick/flush/finish past a failure.
class Fanout final : public Sink {
 public:
  void add(Sink* s) { sinks_.push_back(s); }
  Status begin(const TraceMeta& meta) override;
  void on_event(const Event& e) override {
    for (Sink* s : sinks_) s->on_event(e);
  }
  Status tick(const Tick& t) override;
  Status flush(const Tick& t) override;
  bool stop_requested() const override;
  Status finish(const LostCounts& lost) override;

 private:
  std::vector<Sink*> sinks_;
};

// Where events come from: the live session or a recorded trace.
class EventSource {
 public:
  virtual ~EventSource() = default;
  // The trace's header: valid before run().
  virtual const TraceMeta& meta() const = 0;
  // Streams events to sink until the source ends (a file) or is stopped
  // (signal, duration, the target's exit). Does not call begin/finish: the
  // composer does, around it.
  virtual Status run(Sink& sink) = 0;
};

}  // namespace vmatrace
