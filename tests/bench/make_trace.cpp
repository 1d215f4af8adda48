// Writes a synthetic trace for the report benchmark: a process with 1,000
// VMAs, faults at a steady rate with a storm after 1 s, and an mprotect
// split-and-merge every 100 faults.   make_trace OUT EVENTS
#include <cstdio>
#include <cstdlib>
#include <random>

#include "events/abi.h"
#include "record/trace_file.h"

using namespace vmatrace;

namespace {

constexpr uint32_t kPid = 4242;
constexpr uint64_t kMm = 0xffff888000001000, kBase = 0x7f0000000000, kPg = 4096, kVmas = 1000;

VmaInfo vma(uint64_t i, uint64_t flags) {
  VmaInfo v;
  v.start = kBase + i * 64 * kPg;
  v.end = v.start + 32 * kPg;
  v.flags = flags;
  v.pgoff = v.start >> 12;
  v.reason = VT_VMA_SNAPSHOT;
  return v;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s OUT EVENTS\n", argv[0]);
    return 2;
  }
  uint64_t n = strtoull(argv[2], nullptr, 0);
  auto w = TraceWriter::create(argv[1]);
  if (!w) return fprintf(stderr, "%s\n", w.error().c_str()), 1;
  TraceMeta meta;
  meta.kernel_release = "6.18.0";
  meta.target_pid = kPid;
  meta.command = {"synthetic"};
  meta.clock_monotonic_ns = 1000000000;
  if (!(*w)->write_header(meta) || !(*w)->publish()) return 1;
  Event e;
  e.pid = e.tid = kPid;
  e.ts = meta.clock_monotonic_ns;
  uint64_t written = 0;
  auto put = [&](Event& ev) {
    ev.ts = e.ts;
    if (!(*w)->append(ev)) exit(1);
    written++;
  };
  Event v;
  v.kind = Kind::Vma;
  v.pid = v.tid = kPid;
  for (uint64_t i = 0; i < kVmas; i++) {
    v.vma = vma(i, 0x73);
    put(v);
  }
  Event s;
  s.kind = Kind::Snapshot;
  s.pid = s.tid = kPid;
  s.mm = kMm;
  s.lo = 0;
  s.hi = ~0ULL;
  s.count = kVmas;
  s.snap_reason = VT_SNAP_SEED;
  put(s);
  std::mt19937_64 rng(1);
  Event f;
  f.kind = Kind::Fault;
  f.pid = f.tid = kPid;
  f.error_code = VT_PF_USER | VT_PF_WRITE;
  f.ip = 0x401000;
  for (uint64_t iter = 0; written < n; iter++) {
    // A fault every microsecond; from 1.0 s to 1.2 s, twenty (a storm).
    uint64_t t = iter * 1000;
    bool storm = t >= 1000000000ULL && t < 1200000000ULL;
    e.ts = meta.clock_monotonic_ns + t;
    uint64_t i = storm ? rng() % 8 : rng() % kVmas;
    f.addr = vma(i, 0).start + (rng() % 32) * kPg;
    f.latency_ns = 1000 + rng() % 10000;
    put(f);
    if (storm) {
      for (int k = 0; k < 19 && written < n; k++) {
        f.addr = vma(rng() % 8, 0).start + (rng() % 32) * kPg;
        put(f);
      }
    }
    if (written % 100 == 0) {  // mprotect one page of a VMA, and back
      VmaInfo whole = vma(rng() % kVmas, 0x73), a = whole, b = whole, c = whole;
      a.end = whole.start + kPg;
      b.start = a.end;
      b.end = b.start + kPg;
      b.flags = 0x71;
      b.pgoff = b.start >> 12;
      c.start = b.end;
      c.pgoff = c.start >> 12;
      for (const auto& x : {a, b, c}) {
        v.vma = x;
        put(v);
      }
      s.snap_reason = VT_SNAP_SYSCALL;
      s.lo = b.start - 1;
      s.hi = b.end;
      s.count = 3;
      put(s);
      v.vma = whole;
      put(v);
      s.count = 1;
      put(s);
    }
  }
  if (!(*w)->finish(LostCounts{})) return 1;
  printf("%lu events\n", static_cast<unsigned long>(written));
  return 0;
}
