// `vmatrace watch`: every process on the machine at near-zero cost. Fault
// counts per (comm, cgroup) served as Prometheus metrics; a process whose
// fault rate starts a storm is logged as a JSON line and, with a capture
// directory, recorded by the full tracer for a few seconds.
#pragma once

#include <cstddef>
#include <string>

#include "watch/captures.h"

namespace vmatrace {

struct WatchOptions {
  std::string listen = "127.0.0.1:9477";
  double interval_s = 1;         // /proc polls: the storm rule's bin
  double storm_threshold = 10;   // as report's --storm-threshold
  size_t top_k = 50;             // (comm, cgroup) series shown; the rest fold into comm="other"
  std::string events;            // also append the JSON lines here
  CaptureOptions capture;        // capture.dir empty: no captures
  bool latency = false;          // time every fault: vmatrace_page_fault_latency_seconds
  bool verbose = false;          // libbpf's log
};

int run_watch(const WatchOptions& opts);

}  // namespace vmatrace
