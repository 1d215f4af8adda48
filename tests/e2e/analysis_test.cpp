// Storms, heatmap and Perfetto export on a workload with quiet, storm and
// quiet phases whose storm comes from a known function in a known mapping.
#include <algorithm>
#include <cstdio>
#include <sstream>

#include "harness.h"

namespace e2e {
namespace {

struct Recorded {
  TempDir tmp;
  std::string trace;
  json truth;
};

void record_stormy(Recorded* r) {
  r->trace = r->tmp.path("t.vmt");
  auto res = run({vmatrace(), "-o", r->trace, "--", workload("stormy"), "64", "500"});
  ASSERT_EQ(res.status, 0) << res.err;
  auto lines = json_lines(res.out);
  ASSERT_EQ(lines.size(), 1u);
  r->truth = lines[0];
}

// Tags open and close in order: enough to tell a truncated or mangled file.
bool well_formed_xml(const std::string& s, std::string* why) {
  std::vector<std::string> stack;
  size_t i = 0;
  while ((i = s.find('<', i)) != std::string::npos) {
    size_t end = s.find('>', i);
    if (end == std::string::npos) return *why = "unclosed tag", false;
    std::string tag = s.substr(i + 1, end - i - 1);
    i = end + 1;
    if (tag.empty() || tag[0] == '!' || tag[0] == '?') continue;
    if (tag[0] == '/') {
      std::string name = tag.substr(1);
      if (stack.empty() || stack.back() != name) return *why = "unexpected </" + name + ">", false;
      stack.pop_back();
    } else if (tag.back() != '/') {
      stack.push_back(tag.substr(0, tag.find_first_of(" \n")));
    }
  }
  if (!stack.empty()) return *why = "<" + stack.back() + "> never closed", false;
  return true;
}

std::string hex(uint64_t v) {
  char buf[32];
  snprintf(buf, sizeof(buf), "%lx", static_cast<unsigned long>(v));
  return buf;
}

TEST(Analysis, FindsExactlyTheStormAndItsVmaAndFunction) {
  REQUIRE_ROOT();
  Recorded r;
  record_stormy(&r);
  const auto rules = storm_rules_for(r.truth, 16384);
  auto sum = trace_summary(r.trace, rules);
  // One storm; under emulation (scripts/test-kernels.sh) a host that takes
  // the guest's CPU away mid-storm can cut it in two: then every piece is
  // this storm, in this VMA and this function.
  ASSERT_GE(sum["storms"].size(), 1u) << sum["storms"].dump(2);
  uint64_t storm_faults = 0;
  for (const json& piece : sum["storms"]) {
    storm_faults += piece["faults"].get<uint64_t>();
    EXPECT_GT(piece["start_s"].get<double>(), 0.4) << "after the first quiet phase";
    ASSERT_FALSE(piece["vmas"].empty());
    EXPECT_EQ(piece["vmas"][0]["start"], r.truth["start"]);
    EXPECT_EQ(piece["vmas"][0]["end"], r.truth["end"]);
    ASSERT_FALSE(piece["code"].empty());
    EXPECT_EQ(piece["code"][0]["symbol"], "storm (stormy)");
  }
  // Where a storm ends is a matter of rate, and a stall of the machine at
  // its edge can leave a fault out: nearly all of them are in it. Exact: the
  // VMA took every one of the workload's faults, once.
  EXPECT_GE(storm_faults * 100, 16384u * 99);
  uint64_t vma_faults = 0;
  for (const json& v : sum["vmas"])
    if (v["start"] == r.truth["start"] && v["end"] == r.truth["end"]) vma_faults += v["faults"]["total"].get<uint64_t>();
  EXPECT_EQ(vma_faults, 16384u);
  const json& s = sum["storms"][0];
  EXPECT_GT(s["peak_rate"].get<double>(), s["mean_rate"].get<double>() * 0.99);
  EXPECT_GT(s["latency_ns"]["p99"].get<uint64_t>(), 0u);

  // The text report lists storms first.
  std::vector<std::string> argv = {vmatrace(), "report", r.trace};
  argv.insert(argv.end(), rules.begin(), rules.end());
  auto text = run(argv);
  ASSERT_EQ(text.status, 0);
  EXPECT_EQ(text.out.rfind("fault storms: " + std::to_string(sum["storms"].size()), 0), 0u) << text.out;
  EXPECT_NE(text.out.find("storm (stormy)"), std::string::npos);

  // A rate floor above the storm's own peak finds none.
  double peak = 0;
  for (const json& piece : sum["storms"]) peak = std::max(peak, piece["peak_rate"].get<double>());
  auto none = run({vmatrace(), "report", r.trace, "--storm-min-rate", std::to_string(2 * peak)});
  EXPECT_EQ(none.out.rfind("fault storms: 0", 0), 0u) << none.out;
}

// The faults a heatmap's cells hold, all told.
uint64_t cell_total(const std::string& svg) {
  uint64_t n = 0;
  const std::string key = "data-n=\"";
  for (size_t at = svg.find(key); at != std::string::npos; at = svg.find(key, at + 1))
    n += std::stoull(svg.substr(at + key.size()));
  return n;
}

TEST(Analysis, HeatmapSvgAndHtmlAreWellFormedAndLabelled) {
  REQUIRE_ROOT();
  Recorded r;
  record_stormy(&r);
  auto svg_path = r.tmp.path("h.svg"), html_path = r.tmp.path("h.html");
  const auto rules = storm_rules_for(r.truth, 16384);
  auto report = [&](std::vector<std::string> args) {
    std::vector<std::string> argv = {vmatrace(), "report", r.trace};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.insert(argv.end(), rules.begin(), rules.end());
    return run(argv).status;
  };
  ASSERT_EQ(report({"--heatmap", svg_path}), 0);
  // A window around the storm, wherever a slow machine put it.
  auto storms = trace_summary(r.trace, rules)["storms"];
  ASSERT_FALSE(storms.empty());
  char from[32], to[32];
  snprintf(from, sizeof(from), "%.3f", std::max(0.0, storms[0]["start_s"].get<double>() - 0.2));
  snprintf(to, sizeof(to), "%.3f", storms[0]["start_s"].get<double>() + storms[0]["duration_s"].get<double>() + 0.2);
  ASSERT_EQ(report({"--heatmap", html_path, "--from", from, "--to", to}), 0);
  std::string svg = read_file(svg_path), html = read_file(html_path), why;
  ASSERT_EQ(svg.rfind("<svg", 0), 0u);
  EXPECT_TRUE(well_formed_xml(svg, &why)) << why;
  std::string storm_band = "[anon] " + hex(r.truth["start"]) + "-" + hex(r.truth["end"]);
  EXPECT_NE(svg.find(storm_band), std::string::npos) << "the storm's VMA is labelled";
  EXPECT_NE(svg.find("[stack]"), std::string::npos);
  EXPECT_NE(svg.find("libc.so.6"), std::string::npos);
  EXPECT_NE(svg.find("Page faults by address and time: pid"), std::string::npos);
  EXPECT_NE(svg.find("time (s since tracing began)"), std::string::npos);
  EXPECT_NE(svg.find("faults per cell (log scale)"), std::string::npos);
  EXPECT_NE(svg.find("<title>storm:"), std::string::npos);
  EXPECT_NE(svg.find(" faults, peak "), std::string::npos);
  EXPECT_NE(svg.find("/s: first touch ("), std::string::npos) << "the shading says why";
  EXPECT_NE(svg.find(">first touch "), std::string::npos) << "and labels the storm";
  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_TRUE(well_formed_xml(html.substr(html.find("<svg"), html.find("</svg>") + 6 - html.find("<svg")), &why))
      << why;
  EXPECT_NE(html.find(std::string(from) + " s to " + to + " s"), std::string::npos) << "the window is in the title";
  EXPECT_NE(html.find("addEventListener('mouseover'"), std::string::npos);
  EXPECT_NE(html.find(storm_band), std::string::npos);

  // Only some kinds of faults: the storm's are writes, none is major. (The
  // rest of the run may take a major fault: a page the cache let go of.)
  auto writes = r.tmp.path("w.svg"), majors = r.tmp.path("m.svg");
  ASSERT_EQ(run({vmatrace(), "report", r.trace, "--heatmap", writes, "--heat-kind", "write"}).status, 0);
  ASSERT_EQ(run({vmatrace(), "report", r.trace, "--heatmap", majors, "--heat-kind", "major"}).status, 0);
  EXPECT_NE(read_file(writes).find(storm_band), std::string::npos);
  EXPECT_NE(read_file(writes).find("Page faults (write only)"), std::string::npos);
  // The cells hold the faults of each kind, but for those outside every VMA
  // the model knew (a few on kernels without snapshots): no row to draw them in.
  const std::string major_svg = read_file(majors);
  const json sum = trace_summary(r.trace);
  const json& faults = sum["faults"];
  const uint64_t outside = sum["model"]["faults_outside_vmas"].get<uint64_t>();
  EXPECT_NE(major_svg.find("Page faults (major only)"), std::string::npos);
  for (const auto& [svg, kind] : {std::make_pair(major_svg, "major"), std::make_pair(read_file(writes), "write")}) {
    const uint64_t want = faults[kind].get<uint64_t>(), drawn = cell_total(svg);
    EXPECT_LE(drawn, want) << kind << " " << faults.dump();
    EXPECT_GE(drawn + outside, want) << kind << " " << faults.dump();
  }
  if (faults["major"] == 0) {
    EXPECT_NE(major_svg.find("no faults in this window"), std::string::npos);
  }

  auto bad = run({vmatrace(), "report", r.trace, "--heatmap", r.tmp.path("h.png")});
  EXPECT_EQ(bad.status, 1);
  EXPECT_NE(bad.err.find(".svg or .html"), std::string::npos);
  auto empty = run({vmatrace(), "report", r.trace, "--heatmap", svg_path, "--from", "2", "--to", "1"});
  EXPECT_EQ(empty.status, 1);
  EXPECT_EQ(count_lines(empty.err), 1);
}

TEST(Analysis, PerfettoExportHasCountersInstantsAndStormSlices) {
  REQUIRE_ROOT();
  Recorded r;
  record_stormy(&r);
  auto out = r.tmp.path("p.json");
  std::vector<std::string> argv = {vmatrace(), "report", r.trace, "--perfetto", out};
  for (auto& a : storm_rules_for(r.truth, 16384)) argv.push_back(a);
  ASSERT_EQ(run(argv).status, 0);
  auto j = json::parse(read_file(out), nullptr, false);
  ASSERT_FALSE(j.is_discarded());
  int counters = 0, instants = 0, storms = 0;
  for (const auto& e : j["traceEvents"]) {
    if (e["ph"] == "C") counters++;
    if (e["ph"] == "i" && e["name"] == "mmap") instants++;
    if (e["ph"] == "X" && e["cat"] == "storm") {
      storms++;
      EXPECT_EQ(e["name"], "fault storm: first touch") << "the slice names its cause";
      EXPECT_EQ(e["args"]["causes"][0]["kind"], "first_touch");
      EXPECT_NE(e["args"]["diagnosis"].get<std::string>().find("first touch ("), std::string::npos)
          << e["args"]["diagnosis"];
      EXPECT_EQ(e["args"]["top_code"], "storm (stormy)");
      EXPECT_GT(e["dur"].get<double>(), 0);
    }
  }
  EXPECT_GT(counters, 100);
  EXPECT_GT(instants, 10);
  // One slice a storm: one, unless a stall of an emulated guest cut it.
  EXPECT_EQ(storms, trace_summary(r.trace, storm_rules_for(r.truth, 16384))["storms"].size());
  EXPECT_GE(storms, 1);
}

TEST(Analysis, SampledStacksFoldForFlameGraphs) {
  REQUIRE_ROOT();
  TempDir tmp;
  auto trace = tmp.path("t.vmt"), folded = tmp.path("f.txt");
  auto r = run({vmatrace(), "--stacks", "--stack-every", "2", "-o", trace, "--", workload("stormy"), "16", "100"});
  ASSERT_EQ(r.status, 0) << r.err;
  auto f = run({vmatrace(), "report", trace, "--folded", folded});
  ASSERT_EQ(f.status, 0) << f.err;
  std::istringstream in(read_file(folded));
  std::string line;
  uint64_t storm_faults = 0, total = 0;
  while (std::getline(in, line)) {
    auto space = line.rfind(' ');
    ASSERT_NE(space, std::string::npos) << line;
    uint64_t n = std::stoull(line.substr(space + 1));
    EXPECT_EQ(line.rfind("stormy;", 0), 0u) << "rooted at the command: " << line;
    total += n;
    if (line.find(";main (stormy);storm (stormy) ") != std::string::npos) storm_faults += n;
  }
  // 4096 storm faults, every second one sampled.
  EXPECT_GE(storm_faults, 2040u);
  EXPECT_LE(storm_faults, 2056u);
  EXPECT_GT(total, storm_faults);
  // A trace without stacks says so.
  auto plain = tmp.path("p.vmt");
  ASSERT_EQ(run({vmatrace(), "-o", plain, "--", "true"}).status, 0);
  auto none = run({vmatrace(), "report", plain, "--folded", folded});
  EXPECT_EQ(none.status, 1);
  EXPECT_NE(none.err.find("record with --stacks"), std::string::npos);
}

}  // namespace
}  // namespace e2e
