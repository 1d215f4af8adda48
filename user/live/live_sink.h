// The live view (full-screen or plain) as a sink of a recording: the
// per-second counters fed by every event, the view redrawn at each tick.
#pragma once

#include <memory>
#include <string>

#include "live/live_stats.h"
#include "live/live_view.h"
#include "pipeline/sink.h"

namespace vmatrace {

class LiveViewSink final : public Sink {
 public:
  // model: the recording's, placed before this sink.
  LiveViewSink(std::unique_ptr<Display> display, Model& model, const TraceMeta& meta, std::string command)
      : display_(std::move(display)), model_(model), stats_(meta.clock_monotonic_ns),
        t0_(meta.clock_monotonic_ns), pid_(meta.target_pid), command_(std::move(command)) {}
  void on_event(const Event& e) override { stats_.on_event(e, model_); }
  Status tick(const Tick& t) override {
    stats_.advance(t.now_ns);
    display_->update({t.now_ns - t0_, pid_, command_, &stats_, &model_, t.lost.total()});
    return Ok{};
  }
  bool stop_requested() const override { return display_ && display_->quit_requested(); }
  // Gives the terminal back.
  Status finish(const LostCounts&) override {
    display_.reset();
    return Ok{};
  }

 private:
  std::unique_ptr<Display> display_;
  Model& model_;
  LiveStats stats_;
  uint64_t t0_;
  uint32_t pid_;
  std::string command_;
};

}  // namespace vmatrace
