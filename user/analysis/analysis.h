// What the SRE looks at in a fault storm: when the fault rate rose far above
// the trace's own baseline, which VMAs and which code took the faults, and a
// heatmap of faults over the address space (as the VMA model lays it out)
// and time: what analysis/analyzer.h finds in a trace.
#pragma once

#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "analysis/cause_tally.h"
#include "events/trace_meta.h"
#include "model/model.h"
#include "util/latency_histogram.h"

namespace vmatrace {

struct AnalysisOptions {
  double storm_threshold = 10;  // a storm: bins above this many times the baseline rate...
  double storm_min_rate = 2000; // ...and above this many faults/s...
  uint64_t storm_min_faults = 1000;  // ...with at least this many faults in all (not a start-up blip)
  uint64_t from_ns = 0;  // window, relative to the trace start
  uint64_t to_ns = std::numeric_limits<uint64_t>::max();
  bool want_heatmap = false;  // fill Analysis::heatmap
  std::string heat_kind = "all";  // which faults the heatmap counts: all, minor, major, read, write, exec
  uint32_t heat_columns = 240;
  uint32_t heat_max_bands = 40;
};

struct Share {
  std::string name;  // VMA label or "function (module)"
  uint64_t start = 0, end = 0;  // the VMA's range (VMA shares only)
  uint64_t faults = 0;
};

struct Storm {
  uint64_t start_ns = 0, end_ns = 0;  // relative to the trace start
  uint64_t faults = 0, minor = 0, major = 0;
  double peak_rate = 0, mean_rate = 0;  // faults/s
  LatencyPercentiles latency;
  std::vector<Share> vmas;  // most faults first
  std::vector<Share> code;
  std::vector<StormProcess> processes;  // most faults first
  std::vector<Cause> causes;            // why: biggest share first
};

struct HeatRow {
  std::string label;           // "/usr/lib/libc.so.6 7f..-7f.." or "[heap] ..."
  uint64_t start = 0, end = 0;  // the slice of the address space this row shows
  std::vector<uint32_t> cells;  // faults per time column
  uint64_t total = 0;
};

struct Heatmap {
  std::string kind = "all";  // which faults it counts
  uint64_t from_ns = 0, to_ns = 0;
  uint32_t columns = 0;
  std::vector<HeatRow> rows;  // by address
  uint32_t max_cell = 0;
  uint64_t faults_outside_rows = 0;  // in VMAs not shown (too many) or outside VMAs
};

struct Analysis {
  TraceMeta meta;
  const Model* model = nullptr;  // the whole trace replayed: VMA lifetimes and their faults
  uint64_t duration_ns = 0;
  double baseline_rate = 0;  // faults/s in a typical bin
  std::vector<Storm> storms;  // biggest first
  Heatmap heatmap;
};

// Which faults a heatmap counts (AnalysisOptions::heat_kind, parsed once).
enum class HeatKind { All, Minor, Major, Read, Write, Exec };
HeatKind heat_kind_of(const std::string& name);
bool heat_counts(HeatKind kind, const Event& e);

}  // namespace vmatrace
