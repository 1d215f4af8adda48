// VMA model updates on a 10,000-VMA process: the rate at which the model
// absorbs faults and snapshots (target: >= 5 M events/s on one core), and its
// memory per VMA.
#include <benchmark/benchmark.h>
#include <malloc.h>

#include <random>

#include "events/abi.h"
#include "model/model.h"

namespace vmatrace {
namespace {

constexpr uint32_t kPid = 100;
constexpr uint64_t kMm = 0xffff888000001000;
constexpr uint64_t kBase = 0x7f0000000000;
constexpr uint64_t kVmas = 10000;
constexpr uint64_t kPg = 4096;

// VMA i: 4 pages at kBase + i * 8 pages (gaps keep them apart).
VmaInfo vma_at(uint64_t i, uint64_t flags) {
  VmaInfo v;
  v.start = kBase + i * 8 * kPg;
  v.end = v.start + 4 * kPg;
  v.flags = flags;
  v.pgoff = v.start >> 12;
  v.reason = VT_VMA_SNAPSHOT;
  return v;
}

Event snapshot_record(uint64_t lo, uint64_t hi, uint32_t count) {
  Event e;
  e.kind = Kind::Snapshot;
  e.pid = e.tid = kPid;
  e.mm = kMm;
  e.lo = lo;
  e.hi = hi;
  e.count = count;
  e.snap_reason = VT_SNAP_SYSCALL;
  return e;
}

Event vma_record(const VmaInfo& v) {
  Event e;
  e.kind = Kind::Vma;
  e.pid = e.tid = kPid;
  e.vma = v;
  return e;
}

void seed(Model* m) {
  for (uint64_t i = 0; i < kVmas; i++) m->apply(vma_record(vma_at(i, 0x73)));
  Event s = snapshot_record(0, ~0ULL, kVmas);
  s.snap_reason = VT_SNAP_SEED;
  m->apply(s);
}

void BM_ModelFaults(benchmark::State& state) {
  Model m{TraceMeta{}};
  seed(&m);
  std::mt19937_64 rng(1);
  Event f;
  f.kind = Kind::Fault;
  f.pid = f.tid = kPid;
  f.error_code = VT_PF_USER | VT_PF_WRITE;
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
  VmaInfo whole = vma_at(i, 0x73);
  VmaInfo left = whole, mid = whole, right = whole;
  left.end = whole.start + kPg;
  mid.start = left.end;
  mid.end = mid.start + kPg;
  mid.flags = 0x71;
  mid.pgoff = mid.start >> 12;
  right.start = mid.end;
  right.pgoff = right.start >> 12;
  return {vma_record(left), vma_record(mid), vma_record(right), snapshot_record(mid.start - 1, mid.end, 3),
          vma_record(whole), snapshot_record(mid.start - 1, mid.end, 1)};
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
