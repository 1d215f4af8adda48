#include <cstdio>
#include <limits>
#include <optional>

#include "analysis/analysis.h"
#include "analysis/folded.h"
#include "cli/commands.h"
#include "model/model.h"
#include "record/trace_file.h"
#include "report/event_printer.h"
#include "report/heatmap_render.h"
#include "report/perfetto.h"
#include "report/storm_report.h"
#include "report/summary.h"
#include "report/format.h"
#include "report/vma_report.h"
#include "util/escape.h"
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
  auto reader = TraceReader::open(opts.file);
  if (!reader) return fail(reader.error());
  const TraceMeta& meta = reader->meta();
  Model model(meta);
  EventPrinter printer(stdout, opts.json, meta.clock_monotonic_ns);
  uint64_t until = opts.at_s >= 0 ? meta.clock_monotonic_ns + to_ns(opts.at_s) : std::numeric_limits<uint64_t>::max();
  auto read = reader->for_each([&](const Event& e) {
    if (e.ts > until && e.kind != Kind::Stats) return;
    if (opts.events)
      printer.print(e);
    else
      model.apply(e);
  });
  if (!read) return fail(read.error());
  warn_if_cut(opts.file, *read);
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

int folded(const ReportOptions& opts) {
  auto out = OutputFile::open(opts.folded, opts.file);
  if (!out) return fail(out.error());
  auto f = fold_stacks(opts.file);
  if (!f) return fail(f.error());
  if (f->faults == 0) return fail("no fault in " + opts.file + " has a stack: record with --stacks");
  if (auto st = write_and_finish(*out, f->text); !st) return fail(st.error());
  fprintf(stderr, "vmatrace: %lu faults in %lu stacks written to %s%s\n", (unsigned long)f->faults,
          (unsigned long)f->stacks, opts.folded.c_str(),
          f->lost ? (" (" + std::to_string(f->lost) + " stacks could not be taken)").c_str() : "");
  return 0;
}

}  // namespace

int run_report(const ReportOptions& opts) {
  if (opts.events || opts.maps) return events_or_maps(opts);
  if (!opts.folded.empty()) return folded(opts);
  if (!opts.heatmap.empty() && !ends_with(opts.heatmap, ".svg") && !ends_with(opts.heatmap, ".html"))
    return fail("--heatmap writes .svg or .html files, not " + opts.heatmap);
  AnalysisOptions ao;
  ao.storm_threshold = opts.storm_threshold;
  ao.storm_min_rate = opts.storm_min_rate;
  ao.storm_min_faults = opts.storm_min_faults;
  ao.want_heatmap = !opts.heatmap.empty() || !opts.perfetto.empty();
  ao.heat_kind = opts.heat_kind;
  ao.from_ns = to_ns(opts.from_s);
  ao.to_ns = to_ns(opts.to_s >= 0 ? opts.to_s : opts.at_s);
  if (ao.to_ns <= ao.from_ns) return fail("the window is empty: --to must be after --from");
  auto heat_out = open_output(opts.heatmap, opts.file);
  if (!heat_out) return fail(heat_out.error());
  auto perfetto_out = open_output(opts.perfetto, opts.file);
  if (!perfetto_out) return fail(perfetto_out.error());
  auto a = analyze(opts.file, ao);
  if (!a) return fail(a.error());
  warn_if_cut(opts.file, a->read);
  if (*heat_out) {
    std::string text = ends_with(opts.heatmap, ".html") ? heatmap_html(*a, a->meta) : heatmap_svg(*a, a->meta);
    if (auto st = write_and_finish(**heat_out, text); !st) return fail(st.error());
  }
  if (*perfetto_out) {
    auto json = perfetto_json(opts.file, *a);
    if (!json) return fail(json.error());
    if (auto st = write_and_finish(**perfetto_out, *json); !st) return fail(st.error());
  }
  if (opts.json) {
    auto j = a->summary.to_json(a->meta, a->read);
    j["storms"] = storms_json(*a);
    j["model"] = model_stats_json(a->model->stats());
    j["vmas"] = vmas_json(*a->model);
    printf("%s\n", dump_json(j, 2).c_str());
  } else {
    fputs(storms_text(*a).c_str(), stdout);
    fputs(a->summary.to_text(meta_for_text(a->meta), a->read, opts.file).c_str(), stdout);
    fputs(top_vmas_text(*a->model, 10).c_str(), stdout);
  }
  return 0;
}

}  // namespace vmatrace
