#include "analysis/analysis.h"

#include <algorithm>

#include "analysis/call_chains.h"
#include "analysis/heat_builder.h"
#include "analysis/storms.h"
#include "analysis/symbolizer.h"
#include "events/abi.h"
#include "events/names.h"

namespace vmatrace {
namespace {

// Everything one read of the events gives: the model replayed, the heatmap
// and the storms (known beforehand from the chunk indexes) tallied.
struct Pass {
  Pass(const TraceMeta& meta, const AnalysisOptions& o, const FaultTimeline& t, Analysis* a)
      : o(o),
        t0(meta.clock_monotonic_ns),
        model(std::make_unique<Model>(meta)),
        heat_kind(heat_kind_of(o.heat_kind)),
        heat_to(std::min(o.to_ns, std::max(t.last_ns, o.from_ns) + 1)),  // the last fault counts too
        heat(o.from_ns, heat_to, o.heat_columns),
        found(find_storms(t.bins, kFaultBinNs, o, &a->baseline_rate)),
        storms(found),
        classifier(meta.clock_monotonic_ns, meta.target_pid, meta.command.empty() ? "" : meta.command[0]),
        cause_tallies(found.size()) {}

  void add(const Event& e) {
    model->apply(e);
    if (e.kind == Kind::Stack) chains.on_stack(e, *model);
    uint64_t r = e.ts > t0 ? e.ts - t0 : 0;
    const auto storm = e.complete_fault() ? storms.storm_at(r) : std::nullopt;
    auto cause = classifier.on_event(e, *model, storm.has_value());
    if (!e.complete_fault()) return;
    const auto& at = model->last_fault_vma();
    if (o.want_heatmap && r >= o.from_ns && r < heat_to && heat_counts(heat_kind, e)) {
      if (at)
        heat.add(r, *at, e.addr);
      else
        heat.add_outside();
    }
    if (storm) {
      storms.add(*storm, e, at, code_lifetime(e), *model);
      if (cause) cause_tallies[*storm].add(*cause, e, at, *model);
      if (e.stack_id >= 0) chains.want(e.stack_id, e.pid, *model);
    }
  }

  // The storms, biggest first, each with its causes and processes.
  std::vector<Storm> finish_storms() {
    Symbolizer sym;
    std::vector<Storm> out = storms.finish(*model, &sym);
    for (Storm& s : out) {
      // found is in time order, as the tallies are; storms start at distinct times.
      auto at = std::lower_bound(found.begin(), found.end(), s.start_ns,
                                 [](const Storm& f, uint64_t start) { return f.start_ns < start; });
      size_t i = static_cast<size_t>(at - found.begin());
      s.causes = cause_tallies[i].causes(classifier, &chains, &sym);
      s.processes = cause_tallies[i].processes(classifier, 5);
    }
    return out;
  }

  // The lifetime of the VMA fault e's instruction lies in. Storms run one
  // instruction over and over: the answer holds while pid, ip and the VMA
  // set stay as they were.
  std::optional<uint64_t> code_lifetime(const Event& e) {
    if (e.ip != code.ip || e.pid != code.pid || model->version() != code.version)
      code = {e.pid, e.ip, model->version(), model->lifetime_at(e.pid, e.ip)};
    return code.lifetime;
  }

  const AnalysisOptions& o;
  uint64_t t0;
  std::unique_ptr<Model> model;
  HeatKind heat_kind;
  uint64_t heat_to;
  HeatBuilder heat;
  std::vector<Storm> found;  // in time order
  StormTally storms;
  CauseClassifier classifier;
  std::vector<CauseTally> cause_tallies;  // by storm, in time order
  CallChains chains;
  struct {
    uint32_t pid = 0;
    uint64_t ip = 0, version = UINT64_MAX;
    std::optional<uint64_t> lifetime;
  } code;  // code_lifetime()'s last answer
};

}  // namespace

HeatKind heat_kind_of(const std::string& k) {
  if (k == "minor") return HeatKind::Minor;
  if (k == "major") return HeatKind::Major;
  if (k == "exec") return HeatKind::Exec;
  if (k == "write") return HeatKind::Write;
  if (k == "read") return HeatKind::Read;
  return HeatKind::All;
}

bool heat_counts(HeatKind k, const Event& e) {
  switch (k) {
    case HeatKind::All: return true;
    case HeatKind::Minor: return !(e.fault_flags & VT_FAULT_MAJOR);
    case HeatKind::Major: return e.fault_flags & VT_FAULT_MAJOR;
    case HeatKind::Exec: return access_of(e) == Access::Exec;
    case HeatKind::Write: return access_of(e) == Access::Write;
    case HeatKind::Read: return access_of(e) == Access::Read;
  }
  return true;
}

Result<Analysis> analyze(const std::string& path, const AnalysisOptions& o) {
  auto reader = TraceReader::open(path);
  if (!reader) return make_error(reader.error());
  auto timeline = reader->timeline();
  if (!timeline) return make_error(timeline.error());
  Analysis a;
  a.meta = reader->meta();
  // One pass, unless the events end before the indexes do (a chunk damaged
  // inside): then again, with the storms of the chunks that could be read.
  for (bool first = true;; first = false) {
    auto pass = std::make_unique<Pass>(a.meta, o, *timeline, &a);
    auto read = reader->for_each([&](const Event& e) {
      if (first) a.summary.add(e);
      pass->add(e);
    });
    if (!read) return make_error(read.error());
    if (read->chunks < timeline->chunks) {
      timeline = reader->timeline(read->chunks);
      if (!timeline) return make_error(timeline.error());
      continue;
    }
    a.read = *read;
    a.duration_ns = timeline->last_ns;
    pass->model->refresh_open_names();
    if (o.want_heatmap) a.heatmap = pass->heat.build(*pass->model, o.heat_max_bands);
    a.heatmap.kind = o.heat_kind;
    a.heatmap.from_ns = o.from_ns;
    a.heatmap.to_ns = pass->heat_to;
    a.heatmap.columns = o.heat_columns;
    a.storms = pass->finish_storms();
    a.model = std::move(pass->model);
    return a;
  }
}

}  // namespace vmatrace
