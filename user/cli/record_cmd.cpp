// `vmatrace [-p PID | -- CMD]`: the live source streaming to the writer,
// model, summary and whichever of the printer and live view the output wants.
#include <signal.h>

#include <cstdio>
#include <memory>
#include <optional>

#include "cli/commands.h"
#include "live/live_sink.h"
#include "model/model.h"
#include "analysis/storm_watch.h"
#include "pipeline/model_sink.h"
#include "record/live_source.h"
#include "record/trace_file.h"
#include "record/file_start.h"
#include "record/trace_output.h"
#include "record/trace_output_sink.h"
#include "output/event_printer.h"
#include "output/text_output.h"
#include "report/summary.h"
#include "util/escape.h"

namespace vmatrace {
namespace {

int fail(const std::string& msg) {
  fprintf(stderr, "vmatrace: %s\n", msg.c_str());
  return 1;
}

// --flight-armed: SIGUSR1 fires the recorder instead of asking for a dump.
volatile sig_atomic_t g_fired = 0;
void on_fire(int) { g_fired = 1; }

void fire_on_sigusr1() {
  struct sigaction sa{};
  sa.sa_handler = on_fire;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGUSR1, &sa, nullptr);
}

// Everything one recording needs, torn down in reverse order on every path.
class Recording {
 public:
  explicit Recording(const RecordOptions& opts) : opts_(opts) {}
  int run();

 private:
  Status setup();
  int finish(Status st);

  const RecordOptions& opts_;
  std::unique_ptr<LiveSource> source_;
  std::unique_ptr<TraceOutput> writer_;
  std::optional<Model> model_;
  std::optional<ModelSink> model_sink_;
  Summary summary_;
  std::optional<EventPrinter> printer_;
  std::unique_ptr<LiveViewSink> live_;
  std::optional<TraceOutputSink> writer_sink_;
  Fanout sinks_;
};

std::string command_line(const TraceMeta& meta) {
  std::string s;
  for (const auto& a : meta.command) s += (s.empty() ? "" : " ") + escape_text(a);
  return s;
}

Status Recording::setup() {
  auto source = LiveSource::prepare(opts_.source);
  if (!source) return make_error(source.error());
  source_ = std::move(*source);
  if (!opts_.output.empty()) {
    TraceOutputOptions o;
    o.path = opts_.output;
    o.max_size = opts_.max_size;
    o.rotate = opts_.rotate;
    o.flight_ns = static_cast<uint64_t>(opts_.flight_s * 1e9);
    o.trigger_storm = opts_.trigger_storm;
    o.after_ns = static_cast<uint64_t>(opts_.after_s * 1e9);
    // Called only once events flow: by then the source has its header and the model exists.
    auto w = TraceOutput::create(o, [this](uint64_t ts) { return file_start(source_->meta(), *model_, ts); },
                                 o.trigger_storm ? std::make_unique<StormWatch>() : nullptr);
    if (!w) return make_error(w.error());
    writer_ = std::move(*w);
    // Now, not once the programs are loaded (seconds on a busy machine): an
    // early SIGUSR1 must not end the recording.
    writer_sink_.emplace(*writer_, opts_.flight_s > 0 && !opts_.flight_armed);
    if (opts_.flight_armed) fire_on_sigusr1();
  }
  if (auto st = source_->start(); !st) return st;
  const TraceMeta& meta = source_->meta();
  model_.emplace(meta);
  source_->use_model(&*model_);
  // The trace before the model (a file starting at an event begins with the
  // VMA set from before it), then the model: the sinks after it see each event's effect.
  if (writer_) sinks_.add(&*writer_sink_);
  sinks_.add(&model_sink_.emplace(*model_));
  sinks_.add(&summary_);
  if (opts_.live == LiveOutput::Events) sinks_.add(&printer_.emplace(stdout, opts_.json, meta.clock_monotonic_ns));
  if (opts_.live == LiveOutput::Screen)
    live_ = std::make_unique<LiveViewSink>(make_terminal_view(), *model_, meta, command_line(meta));
  if (opts_.live == LiveOutput::Plain)
    live_ = std::make_unique<LiveViewSink>(make_plain_view(stdout, opts_.interval_s), *model_, meta, command_line(meta));
  if (live_) sinks_.add(live_.get());
  if (auto st = sinks_.begin(meta); !st) return st;
  if (auto st = source_->release(); !st) return st;
  if (writer_) return writer_->publish();
  return Ok{};
}

int Recording::finish(Status st) {
  LostCounts lost;
  if (source_) {
    lost = source_->lost();
    source_->detach();  // before anything else can fail
  }
  live_.reset();  // gives the terminal back
  summary_.set_lost(lost);
  // An armed flight recorder never fired ends writing nothing: its window held no trigger.
  const bool unfired = opts_.flight_armed && !g_fired;
  if (writer_) {
    if (st && !unfired) {
      Status fst = writer_sink_ ? writer_sink_->finish(lost) : writer_->finish(0, lost);
      if (!fst) st = fst;
    }
    // A failure after publish() keeps the file: it reads back to its last chunk.
    if (!st) writer_->discard();
  }
  if (source_ && !st) source_->abort_command();
  if (!st) return fail(st.error());
  if (printer_) fflush(stdout);
  uint64_t malformed = source_->malformed();
  if (malformed) fprintf(stderr, "vmatrace: %lu malformed records were dropped\n", (unsigned long)malformed);
  if (lost.total()) fprintf(stderr, "vmatrace: WARNING: %lu events lost (see report)\n", (unsigned long)lost.total());
  if (opts_.live == LiveOutput::Screen && model_) {
    ReadSummary whole;
    whole.complete = true;
    TextOutput out;
    out.summary(source_->meta(), whole, opts_.output.empty() ? "(live)" : opts_.output, summary_);
    out.vmas(*model_);
    fputs(out.document().c_str(), stdout);
  }
  if (writer_ && writer_->ended()) fprintf(stderr, "vmatrace: the trace reached --max-size: recording stopped\n");
  if (writer_ && unfired)
    fprintf(stderr, "vmatrace: the armed flight recorder was not fired (SIGUSR1): nothing written\n");
  else if (writer_)
    fprintf(stderr, "vmatrace: %lu events (%lu faults) recorded: %s\n", (unsigned long)summary_.total_events(),
            (unsigned long)summary_.faults(), writer_->written().c_str());
  return source_->exit_code();
}

int Recording::run() {
  Status st = setup();
  if (!st) return finish(st);  // the unpublished file goes with it
  return finish(source_->run(sinks_));
}

}  // namespace

int run_record(const RecordOptions& opts) {
  Recording r(opts);
  return r.run();
}

}  // namespace vmatrace
