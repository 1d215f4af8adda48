// Memory that does not grow with the events: latency histograms against
// exact sorting, VMA lifetimes folded once a churning process has ended
// more of them than the model keeps, and the report's heap at its peak over
// traces of more and more events.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "alloc_probe.h"
#include "analysis/cause_tally.h"
#include "analysis/heat_builder.h"
#include "analysis/storms.h"
#include "analysis/symbolizer.h"
#include "cli/report_pass.h"
#include "events/abi.h"
#include "model/maps_format.h"
#include "model/model.h"
#include "synthetic_events.h"
#include "synthetic_trace.h"
#include "temp_trace.h"
#include "util/latency_histogram.h"

namespace vmatrace {
namespace {

uint64_t exact_rank(const std::vector<uint32_t>& sorted, double q) {
  return sorted[static_cast<size_t>(q * static_cast<double>(sorted.size() - 1) + 0.5)];
}

void expect_within_one_percent(uint64_t got, uint64_t want, const char* what) {
  EXPECT_LE(std::llabs(static_cast<long long>(got) - static_cast<long long>(want)),
            static_cast<long long>(static_cast<double>(want) * 0.01))
      << what << ": got " << got << ", sorting says " << want;
}

TEST(LatencyHistogram, PercentilesWithinOnePercentOfSortingMinMaxCountExact) {
  std::mt19937_64 rng(42);
  std::lognormal_distribution<double> lognormal(8.0, 1.5);
  for (size_t n : {1u, 2u, 3u, 100u, 100000u}) {
    std::vector<uint32_t> narrow, wide, ties, huge, skewed;
    for (size_t i = 0; i < n; i++) {
      narrow.push_back(1100 + static_cast<uint32_t>(rng() % 200));
      wide.push_back(static_cast<uint32_t>(rng() >> (32 + rng() % 32)));
      ties.push_back(i % 2 ? 7 : 4000);
      huge.push_back(0xffffffffu - static_cast<uint32_t>(rng() % 3));
      skewed.push_back(static_cast<uint32_t>(std::min(lognormal(rng), 4e9)));
    }
    for (auto* v : {&narrow, &wide, &ties, &huge, &skewed}) {
      LatencyHistogram h;
      for (uint32_t x : *v) h.add(x);
      auto got = h.percentiles();
      std::sort(v->begin(), v->end());
      expect_within_one_percent(got.p50, exact_rank(*v, 0.50), "p50");
      expect_within_one_percent(got.p90, exact_rank(*v, 0.90), "p90");
      expect_within_one_percent(got.p99, exact_rank(*v, 0.99), "p99");
      EXPECT_EQ(got.max, v->back());
      EXPECT_EQ(h.min(), v->front());
      EXPECT_EQ(got.samples, v->size());
      EXPECT_EQ(h.count(), v->size());
      if (HasFailure()) return;
    }
  }
}

TEST(LatencyHistogram, EmptyReadsAsZero) {
  LatencyHistogram h;
  auto p = h.percentiles();
  EXPECT_EQ(p.samples, 0u);
  EXPECT_EQ(p.p50, 0u);
  EXPECT_EQ(p.max, 0u);
  EXPECT_EQ(h.min(), 0u);
}

TEST(LatencyHistogram, SmallValuesAreExact) {
  LatencyHistogram h;
  for (uint32_t v = 0; v < 256; v++) h.add(v);
  for (uint64_t r = 0; r < 256; r++) EXPECT_EQ(h.value_at_rank(r), r);
}

TEST(LatencyHistogram, BucketsAreMonotonicAndNarrowerThanOnePercent) {
  uint32_t last = 0;
  for (uint64_t v = 0; v <= 0xffffffffULL; v = v < 4096 ? v + 1 : v + v / 777 + 1) {
    uint32_t b = LatencyHistogram::bucket_of(static_cast<uint32_t>(v));
    ASSERT_GE(b, last) << v;
    last = b;
    uint64_t low = LatencyHistogram::bucket_low(b), width = LatencyHistogram::bucket_width(b);
    ASSERT_LE(low, v);
    ASSERT_LT(v, low + width);
    if (width > 1) {
      ASSERT_LE(static_cast<double>(width) / static_cast<double>(low), 1.0 / 128) << v;
    }
  }
  EXPECT_EQ(LatencyHistogram::bucket_of(0xffffffffu), 25u * 128 + 127);
}

TEST(LatencyHistogram, MergeEqualsAddingEverything) {
  std::mt19937_64 rng(7);
  LatencyHistogram a, b, all;
  for (int i = 0; i < 5000; i++) {
    uint32_t x = static_cast<uint32_t>(rng() >> (40 + rng() % 24));
    (i % 3 ? a : b).add(x);
    all.add(x);
  }
  a.merge(b);
  auto m = a.percentiles(), want = all.percentiles();
  EXPECT_EQ(m.p50, want.p50);
  EXPECT_EQ(m.p90, want.p90);
  EXPECT_EQ(m.p99, want.p99);
  EXPECT_EQ(m.max, want.max);
  EXPECT_EQ(m.samples, want.samples);
  EXPECT_EQ(a.min(), all.min());
}

// A VMA lifetime's few faults cost a few bytes each, not the whole span of
// buckets between their smallest and largest latency (4.4 KiB here: 32,768
// lifetimes kept in full made 140 MiB).
TEST(LatencyHistogram, FewValuesCostAFewBytesEach) {
  std::mt19937_64 rng(3);
  std::vector<uint32_t> values;
  for (int i = 0; i < 100; i++) values.push_back(1000 + static_cast<uint32_t>(rng() % 10000));
  PeakHeap probe;
  LatencyHistogram h;
  for (uint32_t v : values) h.add(v);
  EXPECT_LE(probe.bytes(), 1100u) << "bytes for 100 values (a list of 128 and the one it grew from)";
  std::sort(values.begin(), values.end());
  auto p = h.percentiles();
  expect_within_one_percent(p.p50, exact_rank(values, 0.50), "p50");
  expect_within_one_percent(p.p99, exact_rank(values, 0.99), "p99");
  EXPECT_EQ(p.max, values.back());
}

// Listed buckets merged into counted ones and back give what adding every
// value to one histogram gives; a count past what the list holds stays exact.
TEST(LatencyHistogram, ListAndCountsMergeBothWays) {
  std::mt19937_64 rng(11);
  LatencyHistogram few, many, all_few_first, all;
  for (int i = 0; i < 40; i++) {
    uint32_t x = 300 + static_cast<uint32_t>(rng() % 100000);
    few.add(x);
    all.add(x);
  }
  for (int i = 0; i < 200000; i++) {
    uint32_t x = 2000 + static_cast<uint32_t>(rng() % 3000);
    many.add(x);
    all.add(x);
  }
  LatencyHistogram into_few = few, into_many = many;
  into_few.merge(many);
  into_many.merge(few);
  for (const LatencyHistogram* h : {&into_few, &into_many}) {
    for (uint64_t r : {0ul, 1ul, 39ul, 1000ul, 100039ul, 200038ul, 200039ul})
      EXPECT_EQ(h->value_at_rank(r), all.value_at_rank(r)) << r;
    EXPECT_EQ(h->count(), all.count());
    EXPECT_EQ(h->min(), all.min());
    EXPECT_EQ(h->max(), all.max());
  }
  LatencyHistogram same;
  const uint64_t n = (1u << 20) + 5;
  for (uint64_t i = 0; i < n; i++) same.add(777);
  same.add(5000);
  EXPECT_EQ(same.count(), n + 1);
  EXPECT_EQ(same.value_at_rank(n - 1), 777u);
  EXPECT_EQ(same.value_at_rank(n), 5000u);
  auto p = same.percentiles();
  EXPECT_EQ(p.p99, 777u);
}

Lifetime lifetime(uint32_t pid, const std::string& name, uint64_t start, bool ended) {
  Lifetime l;
  l.pid = pid;
  l.name = name;
  l.info.start = start;
  l.info.end = start + 4096;
  l.appeared_ns = start;
  if (ended) l.ended_ns = start + 1;
  l.faults.minor = 1;
  l.faults.latency.add(1000);
  return l;
}

TEST(Lifetimes, EndedOnesBeyondTheWindowFoldOpenOnesStay) {
  Lifetimes ls;
  const uint64_t extra = 1000, n = Lifetimes::kWindow + extra;
  uint64_t open_id = ls.add(lifetime(1, "[heap]", 0, false));
  for (uint64_t i = 1; i < n; i++) ls.add(lifetime(1, i % 2 ? "" : "/lib/x", i * 4096, true));
  EXPECT_EQ(ls.size(), n);
  ASSERT_NE(ls.find(open_id), nullptr);
  EXPECT_EQ(ls[open_id].name, "[heap]");
  EXPECT_EQ(ls.find(1), nullptr);
  EXPECT_EQ(ls[1].name, "[folded]");
  EXPECT_EQ(ls.folded(), extra - 1);
  ASSERT_NE(ls.find(n - 1), nullptr);
  EXPECT_EQ(ls[n - 1].info.start, (n - 1) * 4096);

  auto all = ls.all();
  ASSERT_EQ(all.size(), 1 + Lifetimes::kWindow + 2);  // open, window, two folds
  EXPECT_EQ(all[0]->name, "[heap]");
  uint64_t faults = 0, folded = 0;
  for (const Lifetime* l : all) {
    faults += l->faults.total();
    folded += l->folded;
    EXPECT_EQ(l->faults.latency.count(), l->faults.total());
  }
  EXPECT_EQ(faults, n);
  EXPECT_EQ(folded, extra - 1);
  const Lifetime& anon = *all[all.size() - 2];
  EXPECT_EQ(anon.name, "");
  EXPECT_EQ(anon.info.start, 4096u);  // the span of what was folded
  EXPECT_EQ(anon.info.end, (extra - 1) * 4096 + 4096);

  // The open one ends: old enough, it folds at once.
  ls.find(open_id)->ended_ns = 5;
  ls.ended(open_id);
  EXPECT_EQ(ls.find(open_id), nullptr);
  EXPECT_EQ(ls.folded(), extra);
}

// A process mapping and unmapping a page for ever, a fault in each; every
// fault is handed to on_fault (time, the VMA charged).
template <class OnFault>
void churn(Model* m, uint64_t rounds, OnFault on_fault) {
  const uint64_t page = 0x10000000;
  for (uint64_t i = 0; i < rounds; i++) {
    uint64_t at = page + (i % 64) * 4096;
    feed(m, snapshot_events(7, 2 * i, 0x1000, page, page + 64 * 4096, {anon_vma(at, 1)}));
    Event f = fault_event(7, 2 * i + 1, at);
    f.latency_ns = 500;
    m->apply(f);
    ASSERT_TRUE(m->last_fault_vma().has_value());
    on_fault(f.ts, *m->last_fault_vma(), f.addr);
  }
}

TraceMeta meta_6_18() {
  TraceMeta meta;
  meta.kernel_release = "6.18.0";
  return meta;
}

// What the model keeps stays bounded while every fault is still counted.
TEST(Lifetimes, ChurningProcessKeepsModelBounded) {
  Model m(meta_6_18());
  const uint64_t rounds = Lifetimes::kWindow * 3;
  churn(&m, rounds, [](uint64_t, const VmaSpan&, uint64_t) {});
  const auto& ls = m.lifetimes();
  EXPECT_EQ(ls.size(), rounds);
  auto all = ls.all();
  EXPECT_LE(all.size(), Lifetimes::kWindow + 1);
  uint64_t faults = 0;
  for (const Lifetime* l : all) faults += l->faults.total();
  EXPECT_EQ(faults, rounds);
  EXPECT_EQ(m.stats().faults_charged, rounds);
}

// Heatmap cells of lifetimes folded since show under the range they had
// (this crashed: a folded lifetime read as an empty range, a band without rows).
TEST(Lifetimes, HeatmapCountsFaultsOfFoldedLifetimes) {
  Model m(meta_6_18());
  const uint64_t rounds = Lifetimes::kWindow + 5000;
  HeatBuilder heat(0, 2 * rounds, 100);
  churn(&m, rounds, [&](uint64_t ts, const VmaSpan& vma, uint64_t addr) { heat.add(ts, vma, addr); });
  ASSERT_GT(m.lifetimes().folded(), 0u);
  m.refresh_open_names();
  Heatmap h = heat.build(m, 64);
  ASSERT_EQ(h.rows.size(), 64u);
  uint64_t total = h.faults_outside_rows;
  for (const auto& r : h.rows) {
    EXPECT_LT(r.start, r.end);
    total += r.total;
  }
  EXPECT_EQ(total, rounds);
}

// The heatmap of a process that maps and unmaps for ever: what it keeps
// follows the ranges it uses, not the lifetimes (it kept a cell list for
// every lifetime that took a fault: ~100 bytes a fault here).
TEST(HeatBuilder, ChurnKeepsOnlyTheOpenLifetimesCellsAndCountsEveryFault) {
  Model m(meta_6_18());
  const uint64_t rounds = 4 * Lifetimes::kWindow;
  HeatBuilder heat(0, 2 * rounds, 100);
  size_t heap_at_half = 0;
  PeakHeap probe;
  size_t most_kept = 0;
  churn(&m, rounds, [&](uint64_t ts, const VmaSpan& vma, uint64_t addr) {
    heat.add(ts, vma, addr);
    heat.fold_ended(m);
    most_kept = std::max(most_kept, heat.lifetimes_kept());
    if (ts == rounds + 1) heap_at_half = probe.bytes();
  });
  EXPECT_LE(most_kept, 2048u) << "lifetimes whose cells are kept on their own";
  EXPECT_EQ(heat.bands(), 64u) << "one band per page the churn uses";
  EXPECT_LT(probe.bytes() - heap_at_half, 256u * 1024) << "bytes the second half added: " << probe.bytes() - heap_at_half;
  m.refresh_open_names();
  Heatmap h = heat.build(m, 100);
  ASSERT_EQ(h.rows.size(), 64u);
  uint64_t total = h.faults_outside_rows;
  for (const auto& r : h.rows) {
    EXPECT_EQ(r.end - r.start, 4096u);
    EXPECT_EQ(r.total, rounds / 64) << r.label;
    total += r.total;
  }
  EXPECT_EQ(total, rounds);
}

// A storm through which a process maps and unmaps for ever: its tallies of
// VMAs and causes keep the open lifetimes and one entry per range, not one
// per lifetime (they kept every lifetime the storm hit), and count exactly.
TEST(StormTally, ChurnInAStormKeepsOnlyOpenLifetimesAndCountsEveryFault) {
  Model m(meta_6_18());
  const uint64_t rounds = 4 * Lifetimes::kWindow;
  Storm whole;
  whole.end_ns = ~0ULL;
  StormTally storms({whole});
  CauseTally causes;
  FaultCause first_touch;
  first_touch.kind = CauseKind::FirstTouch;
  size_t heap_at_half = 0, most_kept = 0;
  PeakHeap probe;
  churn(&m, rounds, [&](uint64_t ts, const VmaSpan& vma, uint64_t addr) {
    Event f = fault_event(7, ts, addr);
    storms.add(0, f, vma, std::nullopt, m);
    causes.add(first_touch, f, vma, m);
    most_kept = std::max({most_kept, storms.lifetimes_kept(), causes.lifetimes_kept()});
    if (ts == rounds + 1) heap_at_half = probe.bytes();
  });
  EXPECT_LE(most_kept, 2048u);
  EXPECT_LT(probe.bytes() - heap_at_half, 256u * 1024) << "bytes the second half added: " << probe.bytes() - heap_at_half;
  m.refresh_open_names();
  Symbolizer sym;
  auto found = storms.finish(m, &sym);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].faults, rounds);
  ASSERT_EQ(found[0].vmas.size(), 5u);
  for (size_t i = 0; i < 5; i++) {
    EXPECT_EQ(found[0].vmas[i].start, 0x10000000 + i * 4096) << "the same faults: the lower address first";
    EXPECT_EQ(found[0].vmas[i].faults, rounds / 64) << "every lifetime of the page";
  }
  CauseClassifier cc(0, 7, "churn");
  auto why = causes.causes(cc, nullptr, nullptr);
  ASSERT_EQ(why.size(), 1u);
  EXPECT_EQ(why[0].faults, rounds);
  EXPECT_EQ(why[0].vma.start, 0x10000000u);
  EXPECT_EQ(why[0].vma.end, 0x10000000u + 4096);
  EXPECT_EQ(why[0].vma.faults, rounds / 64);
}

class ReportMemory : public TempTraceTest {
 protected:
  // The report's peak heap (summary, storms, heatmap) over a synthetic
  // trace of about this many events: storms every second, a VMA split and
  // merged back every 10 faults.
  size_t report_peak(uint64_t events, Analysis* out) {
    synthetic::Options o;
    o.events = events;
    o.churn_every = 10;
    o.storm_every_s = 1;
    o.fault_every_ns = 50000;
    unlink(path_.c_str());
    {
      auto w = TraceWriter::create(path_);
      EXPECT_TRUE(w) << w.error();
      if (!w) return 0;
      EXPECT_GT(synthetic::write(**w, o), 0u);
      EXPECT_TRUE((*w)->finish(LostCounts{}));
    }
    ReportWants wants;
    wants.analysis.want_heatmap = true;
    PeakHeap probe;
    auto pass = read_trace(path_, wants);
    EXPECT_TRUE(pass) << pass.error();
    if (!pass) return 0;
    size_t peak = probe.bytes();
    EXPECT_TRUE((*pass)->read.complete);
    uint64_t heat = (*pass)->analysis.heatmap.faults_outside_rows;
    for (const auto& r : (*pass)->analysis.heatmap.rows) heat += r.total;
    EXPECT_EQ(heat, (*pass)->summary.faults()) << "the heatmap counts every fault";
    *out = std::move((*pass)->analysis);
    return peak;
  }
};

// Four times the events (past the model's window of lifetimes in both), and
// the peak grows by less than a byte an event (it grew by ~100: the
// heatmap's cells of every lifetime).
TEST_F(ReportMemory, PeakHeapDoesNotGrowWithTheEvents) {
  Analysis small, big;
  const uint64_t n = 400000;
  size_t small_peak = report_peak(n, &small), big_peak = report_peak(4 * n, &big);
  ASSERT_GT(small_peak, 0u);
  EXPECT_GE(small.storms.size(), 1u);
  EXPECT_GT(big.storms.size(), small.storms.size());
  for (const Storm& s : big.storms) {
    uint64_t by_cause = 0;
    for (const Cause& c : s.causes) by_cause += c.faults;
    EXPECT_EQ(by_cause, s.faults) << "a storm's causes count its faults";
  }
  EXPECT_LT(big_peak, small_peak + 3 * n) << "peak heap: " << small_peak << " bytes over " << n << " events, "
                                          << big_peak << " over " << 4 * n;
}

}  // namespace
}  // namespace vmatrace
