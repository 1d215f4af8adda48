#include "watch/fault_ledger.h"

#include <algorithm>

namespace vmatrace {

FaultLedger::FaultLedger(uint64_t watch_start_ticks, uint64_t interval_ns, AnalysisOptions storm_rule,
                         LedgerHooks hooks, double warn_fraction)
    : watch_start_ticks_(watch_start_ticks),
      interval_ns_(interval_ns),
      rule_(storm_rule),
      hooks_(std::move(hooks)),
      warn_fraction_(warn_fraction) {}

void FaultLedger::poll(const std::vector<ProcSample>& samples, uint64_t now_ns, std::vector<FaultShare>* faults,
                       std::vector<StormStart>* storms, std::vector<WarmProcess>* warm) {
  for (const ProcSample& s : samples) update(s, now_ns, faults, storms, warm);
  // Gone from /proc this long and still no exit record: the record was lost
  // (ring buffer full). Its faults since the last poll are lost with it;
  // counted, never guessed.
  for (auto it = procs_.begin(); it != procs_.end();) {
    if (now_ns - it->second.last_seen_ns >= kExitGraceNs) {
      exits_missed_++;
      it = procs_.erase(it);
    } else {
      ++it;
    }
  }
}

void FaultLedger::update(const ProcSample& s, uint64_t now_ns, std::vector<FaultShare>* faults,
                         std::vector<StormStart>* storms, std::vector<WarmProcess>* warm) {
  auto [it, is_new] = procs_.try_emplace(Key{s.pid, s.start_ticks});
  Proc& p = it->second;
  uint64_t base_min = p.min_flt, base_maj = p.maj_flt;
  if (is_new && !counts_from_start(s.start_ticks)) base_min = s.min_flt, base_maj = s.maj_flt;
  // An exec (or prctl) renames the process; its cgroup is read again then,
  // as a fork-exec launcher moves its child before the exec.
  if (is_new || p.comm != s.comm) {
    auto cgroup = hooks_.cgroup_of_pid(s.pid);
    if (!cgroup && is_new) {
      // Gone already: its exit record will tell all, with its cgroup.
      procs_.erase(it);
      return;
    }
    p.comm = s.comm;
    if (cgroup) p.cgroup = std::move(*cgroup);
  }
  p.last_seen_ns = now_ns;
  // Counters never go back; a stat read while the process was being
  // released can show only the leader's own counts.
  uint64_t d_min = s.min_flt > base_min ? s.min_flt - base_min : 0;
  uint64_t d_maj = s.maj_flt > base_maj ? s.maj_flt - base_maj : 0;
  p.min_flt = std::max(base_min, s.min_flt);
  p.maj_flt = std::max(base_maj, s.maj_flt);
  if (d_min || d_maj) faults->push_back({p.comm, p.cgroup, d_min, d_maj});
  // A process's first poll covers an unknown stretch: it is no bin.
  if (is_new) return;
  double rate = 0;
  if (p.storms.add(d_min + d_maj, interval_ns_, rule_, &rate))
    storms->push_back({s.pid, s.start_ticks, p.comm, p.cgroup, rate});
  if (warm && p.storms.warm(interval_ns_, rule_, warn_fraction_)) {
    double per_s = 1e9 / static_cast<double>(interval_ns_);
    warm->push_back({s.pid, s.start_ticks, p.comm, static_cast<double>(d_min + d_maj) * per_s});
  }
}

void FaultLedger::exited(const ExitInfo& e, std::vector<FaultShare>* faults) {
  auto it = procs_.find(Key{e.pid, e.start_ticks});
  if (it == procs_.end()) {
    // Born and gone between two polls (or before the watch began).
    if (counts_from_start(e.start_ticks) && (e.min_flt || e.maj_flt))
      faults->push_back({e.comm, hooks_.cgroup_of_id(e.cgroup_id), e.min_flt, e.maj_flt});
    return;
  }
  Proc& p = it->second;
  uint64_t d_min = e.min_flt > p.min_flt ? e.min_flt - p.min_flt : 0;
  uint64_t d_maj = e.maj_flt > p.maj_flt ? e.maj_flt - p.maj_flt : 0;
  if (d_min || d_maj) faults->push_back({e.comm, p.cgroup, d_min, d_maj});
  procs_.erase(it);
}

}  // namespace vmatrace
