#include "watch/watch_cli.h"

#include <regex>
#include <string>

namespace vmatrace {
namespace {

// ADDR:PORT or [V6ADDR]:PORT, port 0..65535 (0: any free port).
std::string check_listen(const std::string& s) {
  size_t colon = s.rfind(':');
  if (colon == std::string::npos || colon == 0) return "must be ADDR:PORT, e.g. 127.0.0.1:9477";
  std::string port = s.substr(colon + 1);
  if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos ||
      std::stoul(port) > 65535)
    return "port must be a number from 0 to 65535";
  if (s[0] == '[' && s[colon - 1] != ']') return "an IPv6 address goes in brackets: [::1]:9477";
  return "";
}

std::string check_regex(const std::string& s) {
  try {
    std::regex re(s, std::regex::extended);
  } catch (const std::regex_error& e) {
    return std::string("not a regular expression: ") + e.what();
  }
  return "";
}

}  // namespace

CLI::App* add_watch_subcommand(CLI::App* app, WatchOptions* o) {
  auto* w = app->add_subcommand("watch", "watch every process's page faults: Prometheus metrics, storm captures");
  w->add_option("--listen", o->listen, "serve /metrics on ADDR:PORT (default 127.0.0.1:9477)")
      ->check(CLI::Validator(check_listen, "ADDR:PORT"));
  w->add_option("--interval", o->interval_s, "seconds between polls of every process's counters (default 1)")
      ->check(CLI::Range(0.05, 3600.0));
  w->add_option("--storm-threshold", o->storm_threshold,
                "a storm: fault rate above this many times the process's baseline (default 10)")
      ->check(CLI::PositiveNumber);
  w->add_option("--top-k", o->top_k, "(comm, cgroup) series shown; the rest fold into comm=\"other\" (default 50)")
      ->check(CLI::Range(1, 100000));
  w->add_option("--events", o->events, "also append the JSON event lines to this file (SIGHUP reopens it)");
  auto* dir = w->add_option("--capture-dir", o->capture.dir, "record each storming process into this directory");
  w->add_option("--capture-seconds", o->capture.seconds, "length of a capture (default 10)")
      ->check(CLI::Range(0.1, 86400.0));
  w->add_option("--capture-cooldown", o->capture.cooldown_s,
                "seconds before the same process is captured again (default 300)")
      ->check(CLI::NonNegativeNumber);
  w->add_option("--capture-max-files", o->capture.max_files, "captures kept, oldest removed first (default 20)")
      ->check(CLI::Range(1, 1000000));
  w->add_option("--capture-max-bytes", o->capture.max_bytes,
                "bytes of captures kept, oldest removed first (default 1 GiB)")
      ->check(CLI::Range(uint64_t{1}, UINT64_MAX));
  w->add_option("--capture-max-running", o->capture.max_running, "captures at once (default 1)")
      ->check(CLI::Range(1, 64));
  w->add_option("--capture-min-free", o->capture.min_free_bytes,
                "no capture starts with fewer bytes free on the disk (default 64 MiB)");
  w->add_option("--capture-comm", o->capture.comm_regex,
                "capture only processes whose command name matches this regular expression (POSIX ERE)")
      ->check(CLI::Validator(check_regex, "REGEX"));
  auto* before = w->add_option("--capture-before", o->capture.before_s,
                "captures also hold this many seconds before the storm: a flight recorder is armed for a process "
                "whose fault rate crosses the warning level (default 0: off)")
      ->check(CLI::Range(0.0, 3600.0))
      ->needs(dir);
  w->add_option("--capture-warn-fraction", o->capture.warn_fraction,
                "with --capture-before: the warning level, this fraction of the storm rule (default 0.25)")
      ->check(CLI::Range(0.01, 1.0))
      ->needs(before);
  w->add_option("--capture-armed-max", o->capture.max_armed,
                "with --capture-before: flight recorders armed at once, the busiest processes first (default 2)")
      ->check(CLI::Range(1, 64))
      ->needs(before);
  w->add_flag("--latency", o->latency,
              "also time every page fault on the machine (BPF programs on each fault, a histogram per CPU): "
              "vmatrace_page_fault_latency_seconds");
  w->add_flag("-v,--verbose", o->verbose, "show libbpf's log");
  return w;
}

}  // namespace vmatrace
