#include "record/file_start.h"

#include <algorithm>

#include "events/abi.h"

namespace vmatrace {
namespace {

void add_snapshot(const Model::LiveProcess& p, uint64_t ts, std::vector<Event>* out) {
  Event v;
  v.kind = Kind::Vma;
  v.ts = ts;
  v.pid = v.tid = p.pid;
  for (const auto& [start, vma] : p.space->vmas()) {
    v.vma = vma.info;
    v.vma.reason = VT_VMA_SNAPSHOT;
    out->push_back(v);
  }
  Event s;
  s.kind = Kind::Snapshot;
  s.ts = ts;
  s.pid = s.tid = p.pid;
  s.mm = p.mm;
  s.lo = 0;
  s.hi = ~0ULL;
  s.count = static_cast<uint32_t>(p.space->size());
  // A kernel snapshot carries the heap's and stack's bounds; where the model
  // never had them (no kernel snapshots) the /proc names stand, as after a resync.
  s.snap_reason = p.space->brk_known ? static_cast<uint16_t>(VT_SNAP_SEED) : kSnapResync;
  s.start_brk = p.space->start_brk;
  s.brk = p.space->brk;
  s.start_stack = p.space->start_stack;
  out->push_back(std::move(s));
}

// Why a file begins unsure of a process: why the recording was, said once
// however many files ago it began.
std::string carried(const std::string& reason) {
  static const std::string kBefore = "since before this file began: ";
  return reason.rfind(kBefore, 0) == 0 ? reason : kBefore + reason;
}

}  // namespace

FileStart file_start(const TraceMeta& base, const Model& model, uint64_t ts) {
  FileStart f;
  f.meta = base;
  f.meta.clock_monotonic_ns = ts;
  f.meta.clock_realtime_ns = base.clock_realtime_ns + (ts - std::min(ts, base.clock_monotonic_ns));
  f.meta.maps_at_attach.clear();
  f.meta.uncertain_at_start.clear();
  for (const auto& p : model.live_processes()) {
    if (p.pid == base.target_pid) f.meta.maps_at_attach = p.space->maps_text("");
    if (p.space->uncertain) f.meta.uncertain_at_start.push_back({p.pid, carried(model.uncertainties()[*p.space->uncertain].reason)});
    add_snapshot(p, ts, &f.state);
  }
  return f;
}

LostCounts lost_since(const LostCounts& a, const LostCounts& b) {
  LostCounts d = a;
  for (size_t i = 0; i < d.by_reason.size() && i < b.by_reason.size(); i++)
    d.by_reason[i] -= std::min(d.by_reason[i], b.by_reason[i]);
  return d;
}

}  // namespace vmatrace
