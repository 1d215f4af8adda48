#include "report/summary.h"

#include <algorithm>

#include "events/abi.h"
#include "events/names.h"

namespace vmatrace {

namespace {

constexpr size_t kFirstNonSyscallSlot = VT_SC_MAX;
static_assert(VT_SC_MAX + static_cast<size_t>(Kind::Stack) < 32, "slots overflow");

// A syscall number no decoder should have let through still gets a slot of
// its own: slot 0, which by_kind() names "?".
size_t kind_slot(const Event& e) {
  if (e.kind == Kind::Syscall) return known_syscall(e.sc) ? e.sc : 0;
  return kFirstNonSyscallSlot + static_cast<size_t>(e.kind);
}

}  // namespace

std::map<std::string, uint64_t> Summary::by_kind() const {
  std::map<std::string, uint64_t> out;
  Event probe;
  for (size_t slot = 0; slot < by_slot_.size(); slot++) {
    if (!by_slot_[slot]) continue;
    if (slot < kFirstNonSyscallSlot) {
      probe.kind = Kind::Syscall;
      probe.sc = static_cast<uint16_t>(slot);
    } else {
      probe.kind = static_cast<Kind>(slot - kFirstNonSyscallSlot);
    }
    out[kind_name(probe)] = by_slot_[slot];
  }
  return out;
}

void Summary::add(const Event& e) {
  if (e.kind == Kind::Stack) return;
  if (e.kind == Kind::Stats) {
    lost_ = e.lost;
    if (e.ts) last_ts_ = std::max(last_ts_, e.ts);
    return;
  }
  if (total_ == 0 || e.ts < first_ts_) first_ts_ = e.ts;
  last_ts_ = std::max(last_ts_, e.ts);
  total_++;
  by_slot_[kind_slot(e)]++;
  if (e.kind != Kind::Fault) return;
  if (e.fault_flags & VT_FAULT_INCOMPLETE) {
    mix_.incomplete++;
    return;
  }
  if (e.fault_flags & VT_FAULT_MAJOR)
    mix_.major++;
  else
    mix_.minor++;
  switch (access_of(e)) {
    case Access::Exec: mix_.exec++; break;
    case Access::Write: mix_.write++; break;
    case Access::Read: mix_.read++; break;
    case Access::Unknown: mix_.unknown_access++; break;
  }
  if (e.fault_flags & VT_FAULT_KERNEL) mix_.in_kernel++;
  if (e.error_code & VT_PF_PROT) mix_.protection++;
  if (!(e.fault_flags & VT_FAULT_NO_ENTRY)) latency_.add(e.latency_ns);
}

LatencyPercentiles Summary::latency() const { return latency_.percentiles(); }

uint64_t Summary::duration_ns(const TraceMeta& meta) const {
  uint64_t start = meta.clock_monotonic_ns ? meta.clock_monotonic_ns : first_ts_;
  return last_ts_ > start ? last_ts_ - start : 0;
}

}  // namespace vmatrace
