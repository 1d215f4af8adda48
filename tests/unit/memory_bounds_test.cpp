// Memory that does not grow with the events: latency histograms against
// exact sorting, and VMA lifetimes folded once a churning process has ended
// more of them than the model keeps.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "analysis/heat_builder.h"
#include "events/abi.h"
#include "model/maps_format.h"
#include "model/model.h"
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
    Event v;
    v.kind = Kind::Vma;
    v.pid = v.tid = 7;
    v.ts = 2 * i;
    v.vma.start = at;
    v.vma.end = at + 4096;
    v.vma.flags = kVmRead | kVmWrite;
    v.vma.reason = VT_VMA_SNAPSHOT;
    m->apply(v);
    Event s;
    s.kind = Kind::Snapshot;
    s.pid = s.tid = 7;
    s.ts = 2 * i;
    s.mm = 0x1000;
    s.lo = page;
    s.hi = page + 64 * 4096;
    s.count = 1;
    s.snap_reason = VT_SNAP_SYSCALL;
    m->apply(s);
    Event f;
    f.kind = Kind::Fault;
    f.pid = f.tid = 7;
    f.ts = 2 * i + 1;
    f.addr = at;
    f.error_code = VT_PF_USER | VT_PF_WRITE;
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

}  // namespace
}  // namespace vmatrace
