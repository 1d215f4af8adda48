// VMA model updates on a 10,000-VMA process: the rate at which the model
// absorbs faults and snapshots (target: >= 5 M events/s on one core), and its
// memory per VMA.
#include <benchmark/benchmark.h>
#include <malloc.h>

#include <random>

#include "events/abi.h"
#include "model/model.h"
#include "synthetic_events.h"

namespace vmatrace {
namespace {

constexpr uint32_t kPid = 100;
constexpr uint64_t kMm = 0xffff888000001000;
constexpr uint64_t kBase = 0x7f0000000000;
constexpr uint64_t kVmas = 10000;
constexpr uint64_t kPg = 4096;

// VMA i: 4 pages at kBase + i * 8 pages (gaps keep them apart).
VmaInfo vma_at(uint64_t i, uint64_t flags) { return anon_vma(kBase + i * 8 * kPg, 4, flags); }

// Timestamps stay 0: the model orders nothing here by them.
Event bench_vma(const VmaInfo& v) { return vma_record(kPid, 0, v); }

Event bench_snapshot(uint64_t lo, uint64_t hi, uint32_t count, uint16_t reason = VT_SNAP_SYSCALL) {
  return snapshot_record(kPid, 0, kMm, lo, hi, count, reason);
}

void seed(Model* m) {
  for (uint64_t i = 0; i < kVmas; i++) m->apply(bench_vma(vma_at(i, 0x73)));
  m->apply(bench_snapshot(0, ~0ULL, kVmas, VT_SNAP_SEED));
}

void BM_ModelFaults(benchmark::State& state) {
  Model m{TraceMeta{}};
  seed(&m);
  std::mt19937_64 rng(1);
  Event f = fault_event(kPid, 0, 0);
  f.latency_ns = 1000;
  for (auto _ : state) {
    f.addr = vma_at(rng() % kVmas, 0).start + (rng() % 4) * kPg;
    f.ts++;
    m.apply(f);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ModelFaults);

// An mprotect of one page inside a VMA and back: 3 VMA records + 1 snapshot,
// then 1 + 1: 6 events per round, prepared beforehand.
std::vector<Event> mprotect_round(uint64_t i) {
  const VmaInfo whole = vma_at(i, 0x73);
  const auto [left, mid, right] = protect_second_page(whole, 0x71);
  return {bench_vma(left), bench_vma(mid), bench_vma(right), bench_snapshot(mid.start - 1, mid.end, 3),
          bench_vma(whole), bench_snapshot(mid.start - 1, mid.end, 1)};
}

void BM_ModelSnapshots(benchmark::State& state) {
  Model m{TraceMeta{}};
  seed(&m);
  std::mt19937_64 rng(2);
  std::vector<Event> events;
  for (int k = 0; k < 1024; k++)
    for (auto& e : mprotect_round(rng() % kVmas)) events.push_back(std::move(e));
  size_t next = 0;
  for (auto _ : state) {
    m.apply(events[next]);
    next = next + 1 == events.size() ? 0 : next + 1;
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["vma_lifetimes"] = static_cast<double>(m.lifetimes().size());
}
BENCHMARK(BM_ModelSnapshots);

void BM_ModelMemoryPerVma(benchmark::State& state) {
  for (auto _ : state) {
    size_t before = mallinfo2().uordblks;
    auto* m = new Model{TraceMeta{}};
    seed(m);
    size_t after = mallinfo2().uordblks;
    state.counters["bytes_per_vma"] = static_cast<double>(after - before) / kVmas;
    delete m;
  }
}
BENCHMARK(BM_ModelMemoryPerVma)->Iterations(3);

}  // namespace
}  // namespace vmatrace
