#include "report_pipeline.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <set>

#include "cli/report_pass.h"
#include "model/model.h"
#include "record/trace_file.h"
#include "output/event_printer.h"
#include "report/heatmap_render.h"
#include "report/perfetto.h"

namespace vmatrace::fuzz {
namespace {

// report FILE --events [--json], and --maps for every process the trace names.
void events_and_maps(TraceReader& reader, FILE* null) {
  const TraceMeta& meta = reader.meta();
  Model model(meta);
  EventPrinter text(null, false, meta.clock_monotonic_ns), json(null, true, meta.clock_monotonic_ns);
  std::set<uint32_t> pids{meta.target_pid};
  auto read = reader.for_each([&](const Event& e) {
    text.print(e);
    json.print(e);
    model.apply(e);
    pids.insert(e.pid);
  });
  if (!read) return;
  for (uint32_t pid : pids) fputs(model.maps_text(pid).c_str(), null);
}

// report FILE [--json] --heatmap --perfetto, and --folded.
void analysis(const std::string& path, FILE* null) {
  AnalysisOptions o;
  o.want_heatmap = true;
  o.storm_min_faults = 20;  // storms small enough for inputs of a few KB
  auto pass = read_trace(path, ReportWants{o, true, true});
  if (!pass) return;
  ReportPass& p = **pass;
  const Analysis& a = p.analysis;
  fputs(report_document(p, OutputFormat::Json, path).c_str(), null);
  fputs(report_document(p, OutputFormat::Text, path).c_str(), null);
  fputs(heatmap_svg(a, a.meta).c_str(), null);
  fputs(heatmap_html(a, a.meta).c_str(), null);
  fputs(p.perfetto->json(a).c_str(), null);
  fputs(p.folded->text.c_str(), null);
}

}  // namespace

void run_report_pipeline(const std::string& path) {
  static FILE* null = fopen("/dev/null", "w");
  auto reader = TraceReader::open(path);
  if (!reader) return;
  events_and_maps(*reader, null);
  analysis(path, null);
}

MemFile::MemFile(const uint8_t* data, size_t size) : fd_(memfd_create("vmatrace-fuzz", MFD_CLOEXEC)) {
  if (fd_ < 0 || write(fd_, data, size) != static_cast<ssize_t>(size)) {
    perror("memfd");
    abort();
  }
  path_ = "/proc/self/fd/" + std::to_string(fd_);
}

MemFile::~MemFile() { close(fd_); }

}  // namespace vmatrace::fuzz
