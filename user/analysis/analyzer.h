// The sink that finds a trace's storms and builds its heatmap in the one
// pass over its events: the storms are known beforehand from the chunk
// indexes' fault timeline.
#pragma once

#include <optional>
#include <vector>

#include "analysis/analysis.h"
#include "analysis/call_chains.h"
#include "analysis/cause_tally.h"
#include "analysis/heat_builder.h"
#include "analysis/storms.h"
#include "model/model.h"
#include "pipeline/sink.h"
#include "record/trace_file.h"

namespace vmatrace {

// The storms and heatmap of a trace, built from its events in order. The
// model (the pass's, applied before this sink) is read at every fault and
// has its open lifetimes' names refreshed at the end.
class Analyzer final : public Sink {
 public:
  // timeline: the fault timeline of the chunks the pass will read.
  Analyzer(const TraceMeta& meta, const AnalysisOptions& opts, const FaultTimeline& timeline, Model& model);
  void on_event(const Event& e) override;
  // The result, once every event went by.
  Analysis result();

 private:
  std::vector<Storm> finish_storms();
  std::optional<uint64_t> code_lifetime(const Event& e);

  const AnalysisOptions& o_;
  Analysis a_;
  uint64_t t0_;
  Model& model_;
  HeatKind heat_kind_;
  uint64_t heat_to_;
  HeatBuilder heat_;
  std::vector<Storm> found_;  // in time order
  StormTally storms_;
  CauseClassifier classifier_;
  std::vector<CauseTally> cause_tallies_;  // by storm, in time order
  CallChains chains_;
  struct {
    uint32_t pid = 0;
    uint64_t ip = 0, version = UINT64_MAX;
    std::optional<uint64_t> lifetime;
  } code_;  // code_lifetime()'s last answer
};

}  // namespace vmatrace
