#include "analysis/analyzer.h"

#include <algorithm>

#include "analysis/symbolizer.h"
#include "events/abi.h"

namespace vmatrace {

Analyzer::Analyzer(const TraceMeta& meta, const AnalysisOptions& o, const FaultTimeline& t, Model& model)
    : o_(o),
      t0_(meta.clock_monotonic_ns),
      model_(model),
      heat_kind_(heat_kind_of(o.heat_kind)),
      heat_to_(std::min(o.to_ns, std::max(t.last_ns, o.from_ns) + 1)),  // the last fault counts too
      heat_(o.from_ns, heat_to_, o.heat_columns),
      found_(find_storms(t.bins, kFaultBinNs, o, &a_.baseline_rate)),
      storms_(found_),
      classifier_(meta.clock_monotonic_ns, meta.target_pid, meta.command.empty() ? "" : meta.command[0]),
      cause_tallies_(found_.size()) {
  a_.meta = meta;
  a_.duration_ns = t.last_ns;
}

void Analyzer::on_event(const Event& e) {
  if (e.kind == Kind::Stack) chains_.on_stack(e, model_);
  uint64_t r = e.ts > t0_ ? e.ts - t0_ : 0;
  const auto storm = e.complete_fault() ? storms_.storm_at(r) : std::nullopt;
  auto cause = classifier_.on_event(e, model_, storm.has_value());
  if (!e.complete_fault()) return;
  const auto& at = model_.last_fault_vma();
  if (o_.want_heatmap && r >= o_.from_ns && r < heat_to_ && heat_counts(heat_kind_, e)) {
    if (at) {
      heat_.add(r, *at, e.addr);
      heat_.fold_ended(model_);
    } else {
      heat_.add_outside();
    }
  }
  if (storm) {
    storms_.add(*storm, e, at, code_lifetime(e), model_);
    if (cause) cause_tallies_[*storm].add(*cause, e, at, model_);
    if (e.stack_id >= 0) chains_.want(e.stack_id, e.pid, model_);
  }
}

// The storms, biggest first, each with its causes and processes.
std::vector<Storm> Analyzer::finish_storms() {
  Symbolizer sym;
  std::vector<Storm> out = storms_.finish(model_, &sym);
  for (Storm& s : out) {
    // found_ is in time order, as the tallies are; storms start at distinct times.
    auto at = std::lower_bound(found_.begin(), found_.end(), s.start_ns,
                               [](const Storm& f, uint64_t start) { return f.start_ns < start; });
    size_t i = static_cast<size_t>(at - found_.begin());
    s.causes = cause_tallies_[i].causes(classifier_, &chains_, &sym);
    s.processes = cause_tallies_[i].processes(classifier_, 5);
  }
  return out;
}

// The lifetime of the VMA fault e's instruction lies in. Storms run one
// instruction over and over: the answer holds while pid, ip and the VMA
// set stay as they were.
std::optional<uint64_t> Analyzer::code_lifetime(const Event& e) {
  if (e.ip != code_.ip || e.pid != code_.pid || model_.version() != code_.version)
    code_ = {e.pid, e.ip, model_.version(), model_.lifetime_at(e.pid, e.ip)};
  return code_.lifetime;
}

Analysis Analyzer::result() {
  model_.refresh_open_names();
  if (o_.want_heatmap) a_.heatmap = heat_.build(model_, o_.heat_max_bands);
  a_.heatmap.kind = o_.heat_kind;
  a_.heatmap.from_ns = o_.from_ns;
  a_.heatmap.to_ns = heat_to_;
  a_.heatmap.columns = o_.heat_columns;
  a_.storms = finish_storms();
  a_.model = &model_;
  return std::move(a_);
}

}  // namespace vmatrace
