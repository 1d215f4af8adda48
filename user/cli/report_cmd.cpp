#include <cstdio>
#include <limits>

#include "cli/commands.h"
#include "model/model.h"
#include "record/trace_file.h"
#include "report/event_printer.h"
#include "report/summary.h"
#include "report/vma_report.h"

namespace vmatrace {
namespace {

int fail(const std::string& msg) {
  fprintf(stderr, "vmatrace: %s\n", msg.c_str());
  return 1;
}

int print_maps(const ReportOptions& opts, const TraceMeta& meta, Model& model) {
  uint32_t pid = opts.pid ? opts.pid : meta.target_pid;
  if (!model.space_of(pid))
    return fail("process " + std::to_string(pid) + " has no address space in " + opts.file +
                (opts.at_s >= 0 ? " at " + std::to_string(opts.at_s) + " s" : ""));
  fputs(model.maps_text(pid).c_str(), stdout);
  return 0;
}

}  // namespace

int run_report(const ReportOptions& opts) {
  auto reader = TraceReader::open(opts.file);
  if (!reader) return fail(reader.error());
  const TraceMeta& meta = reader->meta();
  Summary summary;
  Model model(meta);
  EventPrinter printer(stdout, opts.json, meta.clock_monotonic_ns);
  uint64_t until = opts.at_s >= 0 ? meta.clock_monotonic_ns + static_cast<uint64_t>(opts.at_s * 1e9)
                                  : std::numeric_limits<uint64_t>::max();
  auto read = reader->for_each([&](const Event& e) {
    if (e.ts > until && e.kind != Kind::Stats) return;
    summary.add(e);
    model.apply(e);
    if (opts.events) printer.print(e);
  });
  if (!read) return fail(read.error());
  if (!read->warning.empty()) fprintf(stderr, "vmatrace: warning: %s: %s\n", opts.file.c_str(), read->warning.c_str());
  if (opts.events) return 0;
  if (opts.maps) return print_maps(opts, meta, model);
  if (opts.json) {
    auto j = summary.to_json(meta, *read);
    j["model"] = model_stats_json(model.stats());
    j["vmas"] = vmas_json(model);
    printf("%s\n", j.dump(2).c_str());
  } else {
    fputs(summary.to_text(meta, *read, opts.file).c_str(), stdout);
    fputs(top_vmas_text(model, 10).c_str(), stdout);
  }
  return 0;
}

}  // namespace vmatrace
