#include "cli/report_pass.h"

#include "analysis/analyzer.h"
#include "pipeline/model_sink.h"
#include "record/trace_source.h"

namespace vmatrace {

Result<std::unique_ptr<ReportPass>> read_trace(const std::string& path, const ReportWants& wants) {
  auto source = TraceFileSource::open(path);
  if (!source) return make_error(source.error());
  auto timeline = source->timeline();
  if (!timeline) return make_error(timeline.error());
  const TraceMeta& meta = source->meta();
  for (;;) {
    auto pass = std::make_unique<ReportPass>();
    pass->model = std::make_unique<Model>(meta);
    ModelSink model(*pass->model);
    Analyzer analyzer(meta, wants.analysis, *timeline, *pass->model);
    std::optional<FoldedCollector> folded;
    Fanout sinks;
    sinks.add(&model);  // first: the sinks after it see each event's effect
    sinks.add(&pass->summary);
    sinks.add(&analyzer);
    if (wants.perfetto) sinks.add(&pass->perfetto.emplace(meta));
    if (wants.folded) sinks.add(&folded.emplace(meta, *pass->model));
    if (auto st = source->run(sinks); !st) return make_error(st.error());
    pass->read = source->read();
    if (pass->read.chunks < timeline->chunks) {
      timeline = source->timeline(pass->read.chunks);
      if (!timeline) return make_error(timeline.error());
      continue;
    }
    pass->analysis = analyzer.result();
    if (folded) pass->folded = folded->result();
    return pass;
  }
}

std::string report_document(ReportPass& pass, OutputFormat format, const std::string& file) {
  auto out = make_output(format);
  const Analysis& a = pass.analysis;
  out->storms(a);
  out->summary(a.meta, pass.read, file, pass.summary);
  out->model_stats(a.model->stats());
  out->vmas(*pass.model);
  return out->document();
}

}  // namespace vmatrace
