#include <cstdio>
#include <limits>
#include <optional>

#include "cli/commands.h"
#include "cli/report_pass.h"
#include "model/model.h"
#include "pipeline/model_sink.h"
#include "record/trace_source.h"
#include "output/event_printer.h"
#include "report/heatmap_render.h"
#include "report/perfetto.h"
#include "util/output_file.h"

namespace vmatrace {
namespace {

int fail(const std::string& msg) {
  fprintf(stderr, "vmatrace: %s\n", msg.c_str());
  return 1;
}

void warn_if_cut(const std::string& file, const ReadSummary& read) {
  if (!read.warning.empty()) fprintf(stderr, "vmatrace: warning: %s: %s\n", file.c_str(), read.warning.c_str());
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

uint64_t to_ns(double s) { return s < 0 ? std::numeric_limits<uint64_t>::max() : static_cast<uint64_t>(s * 1e9); }

// One pass: every event, or the VMA set at a moment.
int events_or_maps(const ReportOptions& opts) {
  auto source = TraceFileSource::open(opts.file);
  if (!source) return fail(source.error());
  const TraceMeta& meta = source->meta();
  Model model(meta);
  uint64_t until = opts.at_s >= 0 ? meta.clock_monotonic_ns + to_ns(opts.at_s) : std::numeric_limits<uint64_t>::max();
  std::optional<EventPrinter> printer;
  std::optional<ModelSink> model_sink;
  Sink* sink = opts.events ? static_cast<Sink*>(&printer.emplace(stdout, opts.json, meta.clock_monotonic_ns))
                           : &model_sink.emplace(model, until);
  if (auto st = source->run(*sink); !st) return fail(st.error());
  warn_if_cut(opts.file, source->read());
  if (opts.events) return 0;
  uint32_t pid = opts.pid ? opts.pid : meta.target_pid;
  if (!model.space_of(pid))
    return fail("process " + std::to_string(pid) + " has no address space in " + opts.file +
                (opts.at_s >= 0 ? " at " + std::to_string(opts.at_s) + " s" : ""));
  fputs(model.maps_text(pid).c_str(), stdout);
  return 0;
}

// Outputs are opened before the analysis: a refused path fails at once.
Result<std::optional<OutputFile>> open_output(const std::string& path, const std::string& input) {
  if (path.empty()) return std::optional<OutputFile>();
  auto out = OutputFile::open(path, input);
  if (!out) return make_error(out.error());
  return std::optional<OutputFile>(std::move(*out));
}

Status write_and_finish(OutputFile& out, const std::string& text) {
  if (auto st = out.write(text); !st) return st;
  return out.finish();
}

// The folded stacks, when --folded asked for them.
Status write_folded(OutputFile& out, const ReportOptions& opts, const FoldedStacks& f) {
  if (f.faults == 0) return make_error("no fault in " + opts.file + " has a stack: record with --stacks");
  if (auto st = write_and_finish(out, f.text); !st) return st;
  fprintf(stderr, "vmatrace: %lu faults in %lu stacks written to %s%s\n", (unsigned long)f.faults,
          (unsigned long)f.stacks, opts.folded.c_str(),
          f.lost ? (" (" + std::to_string(f.lost) + " stacks could not be taken)").c_str() : "");
  return Ok{};
}

}  // namespace

int run_report(const ReportOptions& opts) {
  if (opts.events || opts.maps) return events_or_maps(opts);
  if (!opts.heatmap.empty() && !ends_with(opts.heatmap, ".svg") && !ends_with(opts.heatmap, ".html"))
    return fail("--heatmap writes .svg or .html files, not " + opts.heatmap);
  ReportWants wants;
  AnalysisOptions& ao = wants.analysis;
  ao.storm_threshold = opts.storm_threshold;
  ao.storm_min_rate = opts.storm_min_rate;
  ao.storm_min_faults = opts.storm_min_faults;
  ao.want_heatmap = !opts.heatmap.empty() || !opts.perfetto.empty();
  ao.heat_kind = opts.heat_kind;
  ao.from_ns = to_ns(opts.from_s);
  ao.to_ns = to_ns(opts.to_s >= 0 ? opts.to_s : opts.at_s);
  if (ao.to_ns <= ao.from_ns) return fail("the window is empty: --to must be after --from");
  wants.perfetto = !opts.perfetto.empty();
  wants.folded = !opts.folded.empty();
  auto folded_out = open_output(opts.folded, opts.file);
  if (!folded_out) return fail(folded_out.error());
  auto heat_out = open_output(opts.heatmap, opts.file);
  if (!heat_out) return fail(heat_out.error());
  auto perfetto_out = open_output(opts.perfetto, opts.file);
  if (!perfetto_out) return fail(perfetto_out.error());
  auto pass = read_trace(opts.file, wants);
  if (!pass) return fail(pass.error());
  ReportPass& p = **pass;
  const Analysis& a = p.analysis;
  warn_if_cut(opts.file, p.read);
  if (*folded_out) {
    if (auto st = write_folded(**folded_out, opts, *p.folded); !st) return fail(st.error());
  }
  if (*heat_out) {
    std::string text = ends_with(opts.heatmap, ".html") ? heatmap_html(a, a.meta) : heatmap_svg(a, a.meta);
    if (auto st = write_and_finish(**heat_out, text); !st) return fail(st.error());
  }
  if (*perfetto_out) {
    if (auto st = write_and_finish(**perfetto_out, p.perfetto->json(a)); !st) return fail(st.error());
  }
  // --folded writes the stacks alone.
  if (*folded_out) return 0;
  fputs(report_document(p, opts.json ? OutputFormat::Json : OutputFormat::Text, opts.file).c_str(), stdout);
  return 0;
}

}  // namespace vmatrace
