// `vmatrace report`'s one pass over a trace: the file source streaming to
// the model, the summary and whichever analyses the outputs need.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "analysis/analysis.h"
#include "analysis/folded.h"
#include "model/model.h"
#include "output/output.h"
#include "record/trace_file.h"
#include "report/perfetto.h"
#include "report/summary.h"

namespace vmatrace {

struct ReportWants {
  AnalysisOptions analysis;
  bool perfetto = false;
  bool folded = false;
};

struct ReportPass {
  ReadSummary read;  // how reading the file went
  std::unique_ptr<Model> model;
  Summary summary;
  Analysis analysis;
  std::optional<PerfettoCollector> perfetto;
  std::optional<FoldedStacks> folded;
};

// Reads path's events once (twice where a chunk is damaged inside: then
// again with the storms of the chunks that could be read).
Result<std::unique_ptr<ReportPass>> read_trace(const std::string& path, const ReportWants& wants);

// The report of a pass, every section, as text or JSON (file: the trace's name).
std::string report_document(ReportPass& pass, OutputFormat format, const std::string& file);

}  // namespace vmatrace
