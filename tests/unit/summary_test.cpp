#include "report/summary.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "util/latency_histogram.h"

#include "events/abi.h"
#include "output/json_output.h"

namespace vmatrace {
namespace {

nlohmann::ordered_json summary_json(const Summary& s, const TraceMeta& meta, const ReadSummary& read) {
  JsonOutput out;
  out.summary(meta, read, "", s);
  return out.json();
}

Event fault(uint32_t lat, uint16_t ec, uint16_t flags) {
  Event e;
  e.kind = Kind::Fault;
  e.ts = 1000 + lat;
  e.latency_ns = lat;
  e.error_code = ec;
  e.fault_flags = flags;
  return e;
}

TEST(Summary, CountsFaultMixAndPercentiles) {
  Summary s;
  for (uint32_t i = 1; i <= 100; i++) s.add(fault(i * 1000, VT_PF_USER | VT_PF_WRITE, 0));
  s.add(fault(0, VT_PF_USER, VT_FAULT_MAJOR));
  s.add(fault(0, VT_PF_USER | VT_PF_INSTR, VT_FAULT_NO_ENTRY));
  s.add(fault(0, VT_PF_USER, VT_FAULT_INCOMPLETE));
  Event mm;
  mm.kind = Kind::Syscall;
  mm.sc = VT_SC_MMAP;
  mm.ts = 5;
  s.add(mm);
  TraceMeta meta;
  ReadSummary rs;
  rs.complete = true;
  auto j = summary_json(s, meta, rs);
  EXPECT_EQ(j["events"]["fault"], 103);
  EXPECT_EQ(j["events"]["mmap"], 1);
  EXPECT_EQ(j["faults"]["total"], 102);
  EXPECT_EQ(j["faults"]["minor"], 101);
  EXPECT_EQ(j["faults"]["major"], 1);
  EXPECT_EQ(j["faults"]["write"], 100);
  EXPECT_EQ(j["faults"]["read"], 1);
  EXPECT_EQ(j["faults"]["exec"], 0) << "no entry seen: the error code is unknown";
  EXPECT_EQ(j["faults"]["unknown_access"], 1);
  EXPECT_EQ(j["faults"]["incomplete"], 1);
  // 101 latency samples: 0 (the major one) and 1..100 us
  EXPECT_EQ(j["faults"]["latency_ns"]["samples"], 101);
  // Percentiles come from a histogram: within 1% of the exact rank.
  EXPECT_NEAR(j["faults"]["latency_ns"]["p50"].get<double>(), 50000, 500);
  EXPECT_NEAR(j["faults"]["latency_ns"]["p99"].get<double>(), 99000, 990);
  EXPECT_EQ(j["faults"]["latency_ns"]["max"], 100000);
}

TEST(Summary, LostCountsComeFromTheLastStatsRecord) {
  Summary s;
  Event st;
  st.kind = Kind::Stats;
  st.lost.by_reason = {0, 3, 0, 0, 0, 0, 0, 0};
  s.add(st);
  st.lost.by_reason = {1, 5, 0, 0, 2, 0, 0, 0};
  s.add(st);
  auto j = summary_json(s, TraceMeta{}, ReadSummary{});
  EXPECT_EQ(j["lost"]["syscall"], 1);
  EXPECT_EQ(j["lost"]["fault"], 5);
  EXPECT_EQ(j["lost"]["fault_shed"], 2);
  EXPECT_EQ(j["lost_total"], 8);
  EXPECT_EQ(j["total_events"], 0);
}

// A syscall number past the table (a crafted trace; the decoders refuse it)
// once wrote past the per-kind counters, into the fault counts after them.
TEST(Summary, SyscallNumbersOutsideTheTableCountAsUnknown) {
  Summary s;
  Event e;
  e.kind = Kind::Syscall;
  for (uint16_t sc : {uint16_t{32}, uint16_t{33}, uint16_t{40}, uint16_t{VT_SC_MAX}, uint16_t{0}}) {
    e.sc = sc;
    s.add(e);
  }
  EXPECT_EQ(s.faults(), 0u);
  EXPECT_EQ(s.by_kind(), (std::map<std::string, uint64_t>{{"?", 5}}));
  auto j = summary_json(s, TraceMeta{}, ReadSummary{});
  EXPECT_EQ(j["faults"]["total"], 0);
  EXPECT_EQ(j["total_events"], 5);
}

}  // namespace
}  // namespace vmatrace
