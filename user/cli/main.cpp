// vmatrace: trace a process's virtual-memory activity.
#include <CLI/CLI.hpp>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <sstream>

#include "bpf/features.h"
#include "bpf/libbpf_log.h"
#include "cli/commands.h"
#include "cli/numbers.h"
#include "util/escape.h"
#include "watch/watch_cli.h"

using namespace vmatrace;

namespace {

// VMATRACE_WITHOUT=FEATURE[,FEATURE]: features this environment's recordings
// go without, on top of each one's --without. Returns what is wrong with it.
std::string without_from_environment(std::vector<std::string>* without) {
  const char* env = getenv("VMATRACE_WITHOUT");
  if (!env) return "";
  const auto known = optional_feature_names();
  std::string item;
  for (std::istringstream in(env); std::getline(in, item, ',');) {
    if (item.empty()) continue;
    if (std::find(known.begin(), known.end(), item) == known.end())
      return "VMATRACE_WITHOUT: no optional feature is called " + escape_text(item) + " (see vmatrace check)";
    without->push_back(item);
  }
  return "";
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"vmatrace: trace a process's address-space changes and page faults"};
  app.set_version_flag("--version", VMATRACE_VERSION);
  app.footer(
      "Examples:\n"
      "  vmatrace -p 1234 -o trace.vmt -d 10   record pid 1234 for 10 s\n"
      "  vmatrace -- ./server --port 80         trace a command from its exec\n"
      "  vmatrace report trace.vmt [--json] [--events]\n"
      "  vmatrace check                         what this kernel offers\n"
      "  vmatrace watch --capture-dir /var/lib/vmatrace   metrics on :9477, storms recorded");

  RecordOptions rec;
  bool verbose = false;
  app.add_option("-p,--pid", rec.source.pid, "trace this running process (all its threads; a thread id names its process)")
      ->check(CLI::Range(1, kMaxPid));
  app.add_option("-o,--output", rec.output, "record to this trace file (mode 0600) instead of printing events");
  app.add_option("-d,--duration", rec.source.duration_s, "stop after this many seconds")
      ->check(number_in(0, kMaxSeconds, Low::Open, "a number of seconds"));
  app.add_flag("--follow-children", rec.source.follow_children, "also trace processes the target forks");
  bool events = false, plain = false;
  app.add_flag("--events", events, "print every event, one per line (the default when stdout is piped without -o)");
  app.add_flag("--json", rec.json, "print events as JSON lines (implies --events)");
  app.add_flag("--plain", plain, "print a plain-text summary every interval instead of the full-screen view");
  app.add_option("-i,--interval", rec.interval_s, "seconds between --plain summaries (default 1)")
      ->check(number_in(0.01, 86400, Low::Closed, "a number of seconds"));
  app.add_option("-b,--buffer-mb", rec.source.ringbuf_mb, "ring buffer size in MiB, a power of two")
      ->check(CLI::Range(1, 1024));
  app.add_flag("-v,--verbose", verbose, "show libbpf's log");
  bool stacks = false;
  app.add_flag("--stacks", stacks, "sample the user stack of faults (see report --folded)");
  app.add_option("--stack-every", rec.source.stack_every, "with --stacks: one fault in N (default 4)")
      ->check(CLI::Range(1, 1000000));
  bool no_resync = false;
  app.add_flag("--no-resync", no_resync,
               "never re-read /proc/PID/maps to correct the VMA model (kernels without VMA snapshots)");
  app.add_option("--without", rec.source.without,
                 "act as if the kernel lacked this optional feature (see `vmatrace check`)")
      ->check(CLI::IsMember(optional_feature_names()))
      ->delimiter(',');
  app.add_flag("--mmap-lock-hook", rec.source.mmap_lock_hook,
               "catch the address-space calls where they take the mmap_lock (6.18+): other processes' syscalls "
               "run nothing of vmatrace, but each traced call pays a task work, and calls that change no VMA "
               "go unseen (README, Overhead)");
  auto* max_size = app.add_option("--max-size", rec.max_size,
                                  "with -o: end the recording cleanly when the trace reaches SIZE (K, M, G)")
                       ->transform(size_in(64 << 10, 1ULL << 50, "a size"))
                       ->option_text("SIZE");
  app.add_option("--rotate", rec.rotate, "with --max-size: go on in a new file, keeping N files (trace, trace.1, ...)")
      ->check(CLI::Range(2, 100))
      ->needs(max_size);
  auto* flight = app.add_option("--flight", rec.flight_s,
                                "with -o: keep only the last SECONDS in memory; write them on exit and SIGUSR1")
                     ->check(number_in(0, 24 * 3600, Low::Open, "a number of seconds"))
                     ->excludes(max_size);
  std::string trigger;
  auto* trig = app.add_option("--trigger", trigger, "with --flight: also write when the live storm detector fires")
                   ->check(CLI::IsMember({"storm"}))
                   ->needs(flight);
  app.add_option("--after", rec.after_s, "with --trigger: seconds recorded after the trigger (default 0)")
      ->check(number_in(0, 3600, Low::Closed, "a number of seconds"))
      ->needs(trig);
  app.add_flag("--flight-armed", rec.flight_armed,
               "with --flight: SIGUSR1 does not write but fires the recorder; the end of the recording then "
               "writes the last SECONDS, and without SIGUSR1 nothing is written (what `watch --capture-before` runs)")
      ->needs(flight)
      ->excludes(trig);
  app.add_option("command", rec.source.command, "command to run under tracing (after --)");

  ReportOptions rep;
  auto* report = app.add_subcommand("report", "summarise or list a recorded trace");
  report->add_option("file", rep.file, "trace file")->required();
  report->add_flag("--json", rep.json, "JSON instead of text");
  report->add_flag("--events", rep.events, "every event, one per line");
  report->add_flag("--maps", rep.maps, "the VMA set as /proc/PID/maps showed it (default: at the end)");
  report->add_option("--at", rep.at_s, "with --maps: at this many seconds into the trace")
      ->check(number_in(0, kMaxSeconds, Low::Closed, "a number of seconds"));
  report->add_option("--pid", rep.pid, "with --maps: of this process (default: the target)")
      ->check(CLI::Range(1, kMaxPid));
  report->add_option("--heatmap", rep.heatmap, "write a fault heatmap (address x time) to OUT.svg or OUT.html");
  report->add_option("--perfetto", rep.perfetto, "write Chrome trace-event JSON for ui.perfetto.dev");
  report->add_option("--folded", rep.folded, "write folded stacks of faults (recorded with --stacks) for flame graphs");
  report->add_option("--from", rep.from_s, "heatmap window start, seconds into the trace")
      ->check(number_in(0, kMaxSeconds, Low::Closed, "a number of seconds"));
  report->add_option("--to", rep.to_s, "heatmap window end, seconds into the trace (--at: the same)")
      ->check(number_in(0, kMaxSeconds, Low::Closed, "a number of seconds"));
  report->add_option("--heat-kind", rep.heat_kind, "which faults the heatmap counts")
      ->check(CLI::IsMember({"all", "minor", "major", "read", "write", "exec"}));
  report->add_option("--storm-threshold", rep.storm_threshold,
                     "a storm: fault rate above this many times the baseline (default 10)")
      ->check(number_in(0, 1e6, Low::Open, "a factor"));
  report->add_option("--storm-min-rate", rep.storm_min_rate,
                     "...and above this many faults/s (default 2000; lower it for a slow machine)")
      ->check(number_in(0, 1e12, Low::Closed, "a number of faults per second"));
  report->add_option("--storm-min-faults", rep.storm_min_faults,
                     "...with at least this many faults in all (default 1000)")
      ->check(CLI::Range(uint64_t{1}, uint64_t{1} << 40));

  bool check_json = false;
  auto* check = app.add_subcommand("check", "load the programs a trace would use and say what works here");
  check->add_flag("--json", check_json, "as one JSON object");
  WatchOptions watch_opts;
  auto* watch = add_watch_subcommand(&app, &watch_opts);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    fprintf(stderr, "vmatrace: %s (see --help)\n", e.what());
    return 2;
  }
  install_libbpf_logger(verbose);

  rec.source.resync = !no_resync;
  rec.trigger_storm = trigger == "storm";
  if (stacks && rec.source.stack_every == 0) rec.source.stack_every = 4;
  if (!stacks) rec.source.stack_every = 0;
  // On a terminal: the live view. Piped: events, or with -o a summary every interval.
  if (events || rec.json)
    rec.live = LiveOutput::Events;
  else if (plain)
    rec.live = LiveOutput::Plain;
  else if (isatty(STDOUT_FILENO))
    rec.live = LiveOutput::Screen;
  else
    rec.live = rec.output.empty() ? LiveOutput::Events : LiveOutput::Plain;
  if (report->parsed()) return run_report(rep);
  if (check->parsed()) return run_check(check_json);
  if (watch->parsed()) return run_watch(watch_opts);

  if ((rec.source.pid > 0) == !rec.source.command.empty()) {
    fprintf(stderr, "vmatrace: give either -p PID or -- COMMAND (see --help)\n");
    return 2;
  }
  if ((rec.max_size || rec.flight_s > 0) && rec.output.empty()) {
    fprintf(stderr, "vmatrace: --max-size and --flight need -o FILE (see --help)\n");
    return 2;
  }
  if (rec.source.ringbuf_mb & (rec.source.ringbuf_mb - 1)) {
    fprintf(stderr, "vmatrace: --buffer-mb must be a power of two\n");
    return 2;
  }
  if (auto env = without_from_environment(&rec.source.without); !env.empty()) {
    fprintf(stderr, "vmatrace: %s\n", env.c_str());
    return 2;
  }
  return run_record(rec);
}
