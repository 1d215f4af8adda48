#include "report/storm_report.h"

#include <cinttypes>
#include <cstdio>

#include "report/format.h"
#include "util/escape.h"

namespace vmatrace {

std::string storms_text(const Analysis& a) {
  char buf[512];
  std::string out;
  snprintf(buf, sizeof(buf), "fault storms: %zu (baseline %.0f faults/s)\n", a.storms.size(), a.baseline_rate);
  out += buf;
  int n = 1;
  for (const Storm& s : a.storms) {
    snprintf(buf, sizeof(buf),
             "  #%d at %.3f s for %.3f s: %" PRIu64 " faults (minor %" PRIu64 ", major %" PRIu64
             "), peak %.0f/s, mean %.0f/s; latency p50 %s p99 %s max %s\n",
             n++, s.start_ns / 1e9, (s.end_ns - s.start_ns) / 1e9, s.faults, s.minor, s.major, s.peak_rate,
             s.mean_rate, format_duration(s.latency.p50).c_str(), format_duration(s.latency.p99).c_str(),
             format_duration(s.latency.max).c_str());
    out += buf;
    // Names appended, not formatted into buf: a long one must not lose its line's end.
    for (const Share& v : s.vmas) {
      snprintf(buf, sizeof(buf), "      vma  %10" PRIu64 "  %" PRIx64 "-%" PRIx64 " ", v.faults, v.start, v.end);
      out += buf + escape_text(v.name) + "\n";
    }
    for (const Share& c : s.code) {
      snprintf(buf, sizeof(buf), "      code %10" PRIu64 "  ", c.faults);
      out += buf + escape_text(c.name) + "\n";
    }
  }
  return out + "\n";
}

nlohmann::ordered_json storms_json(const Analysis& a) {
  auto out = nlohmann::ordered_json::array();
  for (const Storm& s : a.storms) {
    nlohmann::ordered_json j;
    j["start_s"] = s.start_ns / 1e9;
    j["duration_s"] = (s.end_ns - s.start_ns) / 1e9;
    j["faults"] = s.faults;
    j["minor"] = s.minor;
    j["major"] = s.major;
    j["peak_rate"] = s.peak_rate;
    j["mean_rate"] = s.mean_rate;
    j["latency_ns"] = {{"p50", s.latency.p50}, {"p99", s.latency.p99}, {"max", s.latency.max}};
    j["vmas"] = nlohmann::ordered_json::array();
    for (const Share& v : s.vmas)
      j["vmas"].push_back({{"start", v.start}, {"end", v.end}, {"path", v.name}, {"faults", v.faults}});
    j["code"] = nlohmann::ordered_json::array();
    for (const Share& c : s.code) j["code"].push_back({{"symbol", c.name}, {"faults", c.faults}});
    out.push_back(std::move(j));
  }
  return out;
}

}  // namespace vmatrace
