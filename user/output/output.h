// What vmatrace writes for people (text) or for programs (JSON), behind one
// interface, as bpftrace's output/{text,json}: each event kind and each
// report section is written once per format, in text_output.cpp and
// json_output.cpp, with the helpers of output/format.h. Callers say what to
// write, never how; a new section is a method here, which both writers must
// then implement.
#pragma once

#include <memory>
#include <string>

#include "analysis/analysis.h"
#include "events/event.h"
#include "events/trace_meta.h"
#include "model/model.h"
#include "record/trace_file.h"
#include "report/summary.h"

namespace vmatrace {

enum class OutputFormat { Text, Json };

class Output {
 public:
  virtual ~Output() = default;

  // One event as one line, without its newline; "" for a record that no
  // line shows. vma: the VMA a syscall's result lies in, if known; t0: the
  // trace's clock at its start.
  virtual std::string event(const Event& e, const VmaInfo* vma, uint64_t t0) const = 0;

  // The report's sections, each called at most once, in any order: the
  // document lays out those called as its format wants them.
  virtual void storms(const Analysis& a) = 0;
  // file: the trace's name as given ("(live)" for a recording without one).
  virtual void summary(const TraceMeta& meta, const ReadSummary& read, const std::string& file,
                       const Summary& s) = 0;
  virtual void model_stats(const ModelStats& s) = 0;
  virtual void vmas(Model& model) = 0;
  // The report, ready to print.
  virtual std::string document() const = 0;
};

std::unique_ptr<Output> make_output(OutputFormat format);

}  // namespace vmatrace
