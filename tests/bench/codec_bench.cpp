// Throughput of the hot user-space paths: decoding ring-buffer records and
// encoding/decoding them in the trace file.
#include <benchmark/benchmark.h>

#include <cstring>

#include "events/abi.h"
#include "events/event.h"
#include "record/codec.h"

namespace vmatrace {
namespace {

Event fault_at(uint64_t i) {
  Event e;
  e.kind = Kind::Fault;
  e.pid = e.tid = 1234;
  e.ts = 1000000000 + i * 12000;
  e.addr = 0x7f0000000000 + i * 4096 + 8;
  e.ip = 0x401234;
  e.latency_ns = 10000 + static_cast<uint32_t>(i % 977);
  e.error_code = VT_PF_USER | VT_PF_WRITE;
  return e;
}

void BM_DecodeRingRecord(benchmark::State& state) {
  vt_fault_event r;
  std::memset(&r, 0, sizeof(r));
  r.hdr.kind = VT_EV_FAULT;
  r.hdr.size = sizeof(r);
  for (auto _ : state) {
    r.addr += 4096;
    auto e = decode_record(&r, sizeof(r));
    benchmark::DoNotOptimize(e);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_DecodeRingRecord);

void BM_EncodeFaults(benchmark::State& state) {
  std::string buf;
  uint64_t i = 0;
  for (auto _ : state) {
    ChunkEncoder enc;
    for (int k = 0; k < 4096; k++) enc.encode(fault_at(i++));
    buf = enc.finish();
    benchmark::DoNotOptimize(buf.data());
  }
  state.SetItemsProcessed(state.iterations() * 4096);
  state.counters["bytes_per_fault"] = static_cast<double>(buf.size()) / 4096;
}
BENCHMARK(BM_EncodeFaults);

void BM_DecodeFaults(benchmark::State& state) {
  std::string buf;
  ChunkEncoder enc;
  for (int k = 0; k < 4096; k++) enc.encode(fault_at(static_cast<uint64_t>(k)));
  buf = enc.finish();
  for (auto _ : state) {
    ChunkDecoder dec(reinterpret_cast<const uint8_t*>(buf.data()), buf.size());
    while (auto e = dec.next()) benchmark::DoNotOptimize(e->addr);
  }
  state.SetItemsProcessed(state.iterations() * 4096);
}
BENCHMARK(BM_DecodeFaults);

}  // namespace
}  // namespace vmatrace
