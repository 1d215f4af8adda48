// The VMA model as a sink: placed before the sinks that read it, so that
// they see each event's effect on the VMA set.
#pragma once

#include <limits>

#include "model/model.h"
#include "pipeline/sink.h"

namespace vmatrace {

class ModelSink final : public Sink {
 public:
  // Events after until_ns (absolute) are not applied: the VMA set at a
  // moment. Stats records always are (they say what was lost).
  explicit ModelSink(Model& model, uint64_t until_ns = std::numeric_limits<uint64_t>::max())
      : model_(model), until_ns_(until_ns) {}
  void on_event(const Event& e) override {
    if (e.ts > until_ns_ && e.kind != Kind::Stats) return;
    model_.apply(e);
  }
  const Model& model() const { return model_; }

 private:
  Model& model_;
  uint64_t until_ns_;
};

}  // namespace vmatrace
