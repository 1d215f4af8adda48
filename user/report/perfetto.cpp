#include "report/perfetto.h"

#include <nlohmann/json.hpp>

#include "events/abi.h"
#include "events/names.h"
#include "report/storm_text.h"
#include "util/escape.h"

namespace vmatrace {

namespace {

double micros_since(uint64_t ts, uint64_t t0) { return static_cast<double>(ts > t0 ? ts - t0 : 0) / 1e3; }

}  // namespace

PerfettoCollector::PerfettoCollector(const TraceMeta& meta)
    : t0_(meta.clock_monotonic_ns), pid_(meta.target_pid) {
  events_.push_back({{"ph", "M"}, {"name", "process_name"}, {"pid", pid_}, {"args", {{"name", "vmatrace target"}}}});
}

// Instant events: every address-space change, on its thread.
void PerfettoCollector::on_event(const Event& e) {
  if (e.kind != Kind::Syscall && e.kind != Kind::Exec && e.kind != Kind::Fork && e.kind != Kind::Exit) return;
  nlohmann::json args = {{"ret", e.ret}};
  if (e.kind == Kind::Syscall) {
    const auto& specs = syscall_args(e.sc);
    for (size_t i = 0; i < specs.size(); i++) args[specs[i].name] = format_arg(specs[i].type, e.args[i]);
  }
  events_.push_back({{"ph", "i"}, {"s", "t"}, {"name", kind_name(e)}, {"cat", "vma"}, {"ts", micros_since(e.ts, t0_)},
                     {"pid", e.pid}, {"tid", e.tid}, {"args", args}});
}

std::string PerfettoCollector::json(const Analysis& a) {
  const uint32_t pid = pid_;
  nlohmann::json& events = events_;
  // Counter tracks: faults/s per heatmap row's VMA, from the heatmap cells.
  const Heatmap& h = a.heatmap;
  double col_s = h.columns ? static_cast<double>(h.to_ns - h.from_ns) / 1e9 / h.columns : 1;
  for (const HeatRow& row : h.rows) {
    std::string name = "faults/s " + row.label;
    for (uint32_t c = 0; c < h.columns; c++) {
      double ts = (h.from_ns / 1e9 + c * col_s) * 1e6;
      events.push_back({{"ph", "C"}, {"name", name}, {"pid", pid}, {"ts", ts},
                        {"args", {{"faults_per_s", row.cells[c] / col_s}}}});
    }
  }
  // Slices: one per storm, on a track of their own.
  for (const Storm& s : a.storms) {
    nlohmann::json args = {{"faults", s.faults}, {"peak_rate", s.peak_rate}, {"major", s.major}};
    if (!s.vmas.empty()) args["top_vma"] = s.vmas[0].name;
    if (!s.code.empty()) args["top_code"] = s.code[0].name;
    args["diagnosis"] = storm_diagnosis(s);
    args["causes"] = nlohmann::json::array();
    for (const Cause& c : s.causes)
      args["causes"].push_back({{"kind", cause_key(c.kind)}, {"share", c.share}, {"pid", c.pid}});
    std::string name = "fault storm";
    if (!s.causes.empty()) name += std::string(": ") + cause_title(s.causes[0].kind);
    events.push_back({{"ph", "X"}, {"name", name}, {"cat", "storm"}, {"pid", pid}, {"tid", 0},
                      {"ts", s.start_ns / 1e3}, {"dur", (s.end_ns - s.start_ns) / 1e3}, {"args", args}});
  }
  events.push_back({{"ph", "M"}, {"name", "thread_name"}, {"pid", pid}, {"tid", 0}, {"args", {{"name", "storms"}}}});
  return dump_json(nlohmann::json{{"traceEvents", std::move(events)}, {"displayTimeUnit", "ms"}}) + "\n";
}

}  // namespace vmatrace
