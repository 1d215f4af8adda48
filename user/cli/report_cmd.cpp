#include <cstdio>

#include "cli/commands.h"
#include "record/trace_file.h"
#include "report/event_printer.h"
#include "report/summary.h"

namespace vmatrace {

int run_report(const ReportOptions& opts) {
  auto reader = TraceReader::open(opts.file);
  if (!reader) {
    fprintf(stderr, "vmatrace: %s\n", reader.error().c_str());
    return 1;
  }
  const TraceMeta& meta = reader->meta();
  Summary summary;
  EventPrinter printer(stdout, opts.json, meta.clock_monotonic_ns);
  auto read = reader->for_each([&](const Event& e) {
    summary.add(e);
    if (opts.events) printer.print(e);
  });
  if (!read) {
    fprintf(stderr, "vmatrace: %s\n", read.error().c_str());
    return 1;
  }
  if (!read->warning.empty()) fprintf(stderr, "vmatrace: warning: %s: %s\n", opts.file.c_str(), read->warning.c_str());
  if (opts.events) return 0;
  if (opts.json)
    printf("%s\n", summary.to_json(meta, *read).dump(2).c_str());
  else
    fputs(summary.to_text(meta, *read, opts.file).c_str(), stdout);
  return 0;
}

}  // namespace vmatrace
