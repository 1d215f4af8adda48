// The subcommands behind the CLI; each returns the process exit code.
#pragma once

#include <string>

#include "record/live_source.h"

namespace vmatrace {

// What vmatrace shows while it traces.
enum class LiveOutput {
  Events,  // every event on stdout, one per line (text or --json)
  Screen,  // the full-screen live view (a terminal)
  Plain,   // a plain-text summary every interval
  None,
};

struct RecordOptions {
  LiveSourceOptions source;
  LiveOutput live = LiveOutput::Events;
  double interval_s = 1;
  std::string output;  // empty: events to stdout
  bool json = false;   // stdout lines as JSON
  uint64_t max_size = 0;  // --max-size: bytes a trace file may take (0: no limit)
  unsigned rotate = 0;    // --rotate: files kept (with max_size), else recording ends at the limit
  double flight_s = 0;    // --flight: keep only this many seconds, dump on exit/SIGUSR1/trigger
  bool trigger_storm = false;  // --trigger storm
  double after_s = 0;     // --after: seconds recorded after the trigger before the dump
  bool flight_armed = false;  // --flight-armed: nothing written unless SIGUSR1 fired it; then the exit dump
};

struct ReportOptions {
  std::string file;
  bool json = false;
  bool events = false;
  bool maps = false;      // the VMA set, as /proc/PID/maps printed it
  double at_s = -1;       // that moment, in seconds since the trace began (default: its end)
  uint32_t pid = 0;       // that process (default: the target)
  std::string heatmap;    // write the heatmap here (.svg or .html)
  std::string perfetto;   // write Chrome trace-event JSON here
  std::string folded;     // write folded stacks here (traces recorded with --stacks)
  double from_s = 0, to_s = -1;  // heatmap window
  double storm_threshold = 10;
  double storm_min_rate = 2000;
  uint64_t storm_min_faults = 1000;
  std::string heat_kind = "all";
};

// `vmatrace [-p PID | -- CMD]`: the command's own exit code with `--`, else 0.
int run_record(const RecordOptions& opts);
int run_report(const ReportOptions& opts);
int run_check(bool json);

}  // namespace vmatrace
