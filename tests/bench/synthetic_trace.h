// A synthetic trace, the worst case for the report's model: one process with
// 1,000 VMAs, a fault every `fault_every_ns` (a microsecond) spread over
// them, an mprotect split-and-merge of one VMA every `churn_every` faults
// (four VMA lifetimes each), and storms: 200 ms of twenty times the faults
// on 8 VMAs, once after 1 s, or every `storm_every_s` seconds from 1 s on
// (calm between).
// Used by tests/bench/make_trace (the report benchmark) and by the unit tests
// of the report's memory.
#pragma once

#include <cstdint>
#include <random>

#include "events/abi.h"
#include "record/trace_file.h"
#include "synthetic_events.h"

namespace vmatrace {
namespace synthetic {

constexpr uint32_t kPid = 4242;
constexpr uint64_t kMm = 0xffff888000001000, kBase = 0x7f0000000000, kPg = 4096, kVmas = 1000;
constexpr uint64_t kStart = 1000000000;  // the header's clock
constexpr uint64_t kStormAt = 1000000000, kStormNs = 200000000, kStormVmas = 8;

struct Options {
  uint64_t events = 0;         // records written, about (the last round may add a few)
  uint64_t churn_every = 100;  // faults between split-and-merges
  uint64_t storm_every_s = 0;  // 0: one storm only
  uint64_t fault_every_ns = 1000;
};

inline VmaInfo vma(uint64_t i, uint64_t flags) { return anon_vma(kBase + i * 64 * kPg, 32, flags); }

inline bool in_storm(uint64_t t, const Options& o) {
  if (t < kStormAt) return false;
  if (!o.storm_every_s) return t < kStormAt + kStormNs;
  return (t - kStormAt) % (o.storm_every_s * 1000000000) < kStormNs;
}

inline TraceMeta meta() {
  TraceMeta m;
  m.kernel_release = "6.18.0";
  m.target_pid = kPid;
  m.command = {"synthetic"};
  m.clock_monotonic_ns = kStart;
  return m;
}

// Writes the header and the events through w (not finished); the records
// written, or 0 if writing failed.
inline uint64_t write(TraceWriter& w, const Options& o) {
  if (!w.write_header(meta()) || !w.publish()) return 0;
  uint64_t written = 0, ts = kStart;
  bool ok = true;
  auto put = [&](const Event& ev) {
    ok = ok && w.append(ev);
    written++;
  };
  for (uint64_t i = 0; i < kVmas; i++) put(vma_record(kPid, ts, vma(i, 0x73)));
  put(snapshot_record(kPid, ts, kMm, 0, ~0ULL, kVmas, VT_SNAP_SEED));
  std::mt19937_64 rng(1);
  Event f = fault_event(kPid, ts, 0);
  f.ip = 0x401000;
  uint64_t faults = 0;
  for (uint64_t iter = 0; ok && written < o.events; iter++) {
    const uint64_t t = iter * o.fault_every_ns;
    const bool storm = in_storm(t, o);
    ts = kStart + t;
    for (int k = 0; k < (storm ? 20 : 1) && written < o.events; k++) {
      f.ts = ts;
      f.addr = vma(storm ? rng() % kStormVmas : rng() % kVmas, 0).start + (rng() % 32) * kPg;
      f.latency_ns = 1000 + rng() % 10000;
      put(f);
      if (++faults % o.churn_every) continue;
      // mprotect one page of a VMA, and back
      const VmaInfo whole = vma(rng() % kVmas, 0x73);
      const auto pieces = protect_second_page(whole, 0x71);
      const uint64_t lo = pieces[1].start - 1, hi = pieces[1].end;
      for (const VmaInfo& x : pieces) put(vma_record(kPid, ts, x));
      put(snapshot_record(kPid, ts, kMm, lo, hi, 3));
      put(vma_record(kPid, ts, whole));
      put(snapshot_record(kPid, ts, kMm, lo, hi, 1));
    }
  }
  return ok ? written : 0;
}

}  // namespace synthetic
}  // namespace vmatrace
