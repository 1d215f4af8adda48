#include "report/vma_report.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>

#include "events/abi.h"
#include "events/names.h"
#include "report/format.h"
#include "util/latency_histogram.h"
#include "util/escape.h"

namespace vmatrace {
namespace {

std::string gone_note(const Lifetime& l) {
  if (l.folded) return " (" + std::to_string(l.folded) + " gone, folded)";
  return l.ended_ns ? " (gone)" : "";
}

}  // namespace


nlohmann::ordered_json vmas_json(Model& model) {
  model.refresh_open_names();
  auto out = nlohmann::ordered_json::array();
  for (const Lifetime* kept : model.lifetimes().all()) {
    const Lifetime& l = *kept;
    const FaultStats& f = l.faults;
    auto lat = f.latency.percentiles();
    nlohmann::ordered_json j = {{"pid", l.pid}};
    j.update(vma_json(l.info));
    j["path"] = l.name;  // as maps printed it: [heap], [stack] too
    j["appeared_s"] = static_cast<double>(l.appeared_ns) / 1e9;
    j["at_start"] = l.at_start;
    if (l.ended_ns)
      j["ended_s"] = static_cast<double>(*l.ended_ns) / 1e9;
    else
      j["ended_s"] = nullptr;
    j["faults"] = {{"total", f.total()}, {"minor", f.minor}, {"major", f.major}, {"read", f.read},
                   {"write", f.write},   {"exec", f.exec},
                   {"latency_ns", {{"p50", lat.p50}, {"p90", lat.p90}, {"p99", lat.p99}, {"max", lat.max}}}};
    if (l.folded) j["folded"] = l.folded;
    out.push_back(std::move(j));
  }
  return out;
}

std::string top_vmas_text(Model& model, size_t n) {
  model.refresh_open_names();
  std::vector<const Lifetime*> by_faults;
  for (const Lifetime* l : model.lifetimes().all())
    if (l->faults.total()) by_faults.push_back(l);
  std::stable_sort(by_faults.begin(), by_faults.end(),
                   [](const Lifetime* a, const Lifetime* b) { return a->faults.total() > b->faults.total(); });
  if (by_faults.size() > n) by_faults.resize(n);
  std::string out = "\ntop VMAs by faults:\n";
  if (by_faults.empty()) return out + "  (no faults charged to a VMA)\n";
  char buf[256];
  snprintf(buf, sizeof(buf), "  %-33s %-4s %10s %8s %8s %9s  %s\n", "range", "perm", "faults", "minor",
           "major", "p99", "name");
  out += buf;
  for (const Lifetime* l : by_faults) {
    const FaultStats& f = l->faults;
    auto lat = f.latency.percentiles();
    char range[48];
    snprintf(range, sizeof(range), "%" PRIx64 "-%" PRIx64, l->info.start, l->info.end);
    snprintf(buf, sizeof(buf), "  %-33s %-4s %10" PRIu64 " %8" PRIu64 " %8" PRIu64 " %9s  %s%s\n", range,
             vma_perms(l->info.flags).c_str(), f.total(), f.minor, f.major,
             lat.samples ? format_duration(lat.p99).c_str() : "-", l->name.empty() ? "[anon]" : escape_text(l->name).c_str(),
             gone_note(*l).c_str());
    out += buf;
  }
  return out;
}

nlohmann::ordered_json model_stats_json(const ModelStats& s) {
  auto uncertain = nlohmann::ordered_json::array();
  for (const Uncertainty& u : s.uncertain)
    uncertain.push_back({{"pid", u.pid},
                         {"from_s", static_cast<double>(u.from_ns) / 1e9},
                         {"to_s", u.to_ns ? nlohmann::ordered_json(static_cast<double>(*u.to_ns) / 1e9) : nullptr},
                         {"reason", u.reason}});
  return {{"snapshots", s.snapshots},
          {"snapshots_failed", s.snapshots_failed},
          {"resyncs", s.resyncs},
          {"faults_charged", s.faults_charged},
          {"faults_outside_vmas", s.faults_unmapped},
          {"stack_growths", s.stack_growths},
          {"uncertain", uncertain}};
}

}  // namespace vmatrace
