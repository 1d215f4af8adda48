#include "analysis/cause_tally.h"

#include <algorithm>
#include <tuple>

#include "analysis/call_chains.h"
#include "events/abi.h"
#include "events/names.h"

namespace vmatrace {
namespace {

constexpr size_t kChainFrames = 6;

}  // namespace

void CauseTally::VmaGroup::join(const CauseVma& v, uint64_t faults, uint64_t best_of_v) {
  if (!vma.faults) {
    vma = v;
    vma.faults = 0;
  }
  vma.end = std::max(vma.end, v.end);
  vma.faults += faults;
  if (best_of_v > best) {
    best = best_of_v;
    vma.flags = v.flags;
    vma.origin = v.origin;
  }
}

// The VMA (group of lifetimes, VmaKey) with most faults.
CauseVma CauseTally::top_vma(const PerKind& k) const {
  std::map<VmaKey, VmaGroup> groups = k.ended_vmas;
  for (const auto& [id, n] : k.by_lifetime.map()) {
    const SeenVma& seen = seen_.at(id);
    groups[{seen.pid, seen.vma.start, seen.vma.name}].join(seen.vma, n, n);
  }
  const VmaGroup* top = nullptr;
  for (const auto& [key, g] : groups)
    if (!top || g.vma.faults > top->vma.faults) top = &g;
  return top ? top->vma : CauseVma{};
}

// Ended lifetimes take no more faults: their counts are final, and join
// their group now.
void CauseTally::fold_ended(const Model& model) {
  auto ended = [&](uint64_t id) {
    const Lifetime& l = model.lifetimes()[id];
    return l.ended_ns || l.info.end <= l.info.start;  // or folded by the model
  };
  for (PerKind& k : kinds_)
    k.by_lifetime.erase_if([&](uint64_t id, uint64_t n) {
      if (!ended(id)) return false;
      const SeenVma& seen = seen_.at(id);
      k.ended_vmas[{seen.pid, seen.vma.start, seen.vma.name}].join(seen.vma, n, n);
      return true;
    });
  for (auto it = seen_.begin(); it != seen_.end();) it = ended(it->first) ? seen_.erase(it) : std::next(it);
  fold_at_seen_ = std::max<size_t>(1024, 2 * seen_.size());
  fold_at_lifetimes_ = model.lifetimes().size() + Lifetimes::kWindow / 2;
}

uint64_t CauseTally::call_id(const ProtectCall& c) {
  auto [it, fresh] = call_ids_.try_emplace({c.ns, c.tid}, calls_.size());
  if (fresh) calls_.push_back(c);
  return it->second;
}

void CauseTally::add(const FaultCause& c, const Event& e, const std::optional<VmaSpan>& vma, const Model& model) {
  PerKind& k = kinds_[static_cast<size_t>(c.kind)];
  total_++;
  k.faults++;
  pids_.add(e.pid);
  k.by_pid.add(e.pid);
  if (e.fault_flags & VT_FAULT_MAJOR) k.major++;
  switch (access_of(e)) {
    case Access::Read: k.read++; break;
    case Access::Write: k.write++; break;
    case Access::Exec: k.exec++; break;
    case Access::Unknown: break;
  }
  if (vma && k.by_lifetime.add(vma->lifetime) && !seen_.count(vma->lifetime)) {
    const Lifetime& l = model.lifetimes()[vma->lifetime];
    const AddressSpace* space = model.space_of(e.pid);
    const Vma* now = space ? space->find(vma->start) : nullptr;
    std::string name = now ? space->name_of(*now) : l.name;
    if (name.empty()) name = "[anon]";
    seen_[vma->lifetime] = {e.pid, {std::move(name), vma->start, vma->end, l.info.flags, 0, l.origin}};
  }
  if (c.fork) k.by_evidence.add(*c.fork);
  if (c.call) k.by_evidence.add(call_id(*c.call));
  if (c.refused) k.refused++;
  if (c.after_read) k.after_read++;
  if (e.stack_id >= 0) k.by_stack.add(e.stack_id);
  if (seen_.size() >= fold_at_seen_ || model.lifetimes().size() >= fold_at_lifetimes_) fold_ended(model);
}

void CauseTally::merge(const CauseTally& o) {
  total_ += o.total_;
  for (const auto& [pid, n] : o.pids_.map()) pids_.add(pid, n);
  seen_.insert(o.seen_.begin(), o.seen_.end());
  for (size_t i = 0; i < kCauseKinds; i++) {
    PerKind& k = kinds_[i];
    const PerKind& ok = o.kinds_[i];
    k.faults += ok.faults;
    k.read += ok.read;
    k.write += ok.write;
    k.exec += ok.exec;
    k.major += ok.major;
    k.refused += ok.refused;
    k.after_read += ok.after_read;
    for (const auto& [id, n] : ok.by_lifetime.map()) k.by_lifetime.add(id, n);
    for (const auto& [key, g] : ok.ended_vmas) k.ended_vmas[key].join(g.vma, g.vma.faults, g.best);
    for (const auto& [pid, n] : ok.by_pid.map()) k.by_pid.add(pid, n);
    for (const auto& [id, n] : ok.by_stack.map()) k.by_stack.add(id, n);
    // Call indexes are each tally's own.
    bool calls = static_cast<CauseKind>(i) == CauseKind::ProtectionChange;
    for (const auto& [id, n] : ok.by_evidence.map()) k.by_evidence.add(calls ? call_id(o.calls_[id]) : id, n);
  }
}

void CauseTally::fill_evidence(const PerKind& k, const CauseClassifier& cc, Cause* out) const {
  auto top = k.by_evidence.top();
  if (!top) return;
  if (out->kind == CauseKind::CowAfterFork) out->fork = cc.forks()[top->first];
  if (out->kind == CauseKind::ProtectionChange) {
    // The call behind most faults; among equals (one page per call) the first.
    const ProtectCall* best = nullptr;
    uint64_t most = 0;
    for (const auto& [id, n] : k.by_evidence.map()) {
      const ProtectCall& c = calls_[id];
      if (!best || n > most || (n == most && c.ns < best->ns)) best = &c, most = n;
    }
    out->mprotect = *best;
    out->mprotect_calls = k.by_evidence.map().size();
  }
}

// Stacks that differ only below the frames shown are one chain.
void CauseTally::fill_stack(const PerKind& k, const CallChains& chains, Symbolizer* sym, Cause* out) const {
  std::map<std::vector<std::string>, uint64_t> by_chain;
  for (const auto& [id, n] : k.by_stack.map()) {
    auto chain = chains.chain(id, sym, kChainFrames);
    if (!chain.empty()) by_chain[std::move(chain)] += n;
  }
  for (auto& [chain, n] : by_chain)
    if (n > out->stack_faults) {
      out->stack = chain;
      out->stack_faults = n;
    }
}

std::vector<Cause> CauseTally::causes(const CauseClassifier& cc, const CallChains* chains, Symbolizer* sym) const {
  std::vector<Cause> out;
  for (size_t i = 0; i < kCauseKinds; i++) {
    const PerKind& k = kinds_[i];
    if (!k.faults) continue;
    Cause c;
    c.kind = static_cast<CauseKind>(i);
    c.faults = k.faults;
    c.share = static_cast<double>(k.faults) / static_cast<double>(total_);
    c.read = k.read;
    c.write = k.write;
    c.exec = k.exec;
    c.major = k.major;
    c.refused = k.refused;
    c.after_read = k.after_read;
    if (auto pid = k.by_pid.top()) {
      c.pid = pid->first;
      if (const ProcessInfo* p = cc.process(c.pid)) {
        c.command = p->command;
        c.parent = p->parent;
      }
    }
    c.vma = top_vma(k);
    fill_evidence(k, cc, &c);
    if (chains && sym) fill_stack(k, *chains, sym, &c);
    out.push_back(std::move(c));
  }
  std::stable_sort(out.begin(), out.end(), [](const Cause& a, const Cause& b) { return a.faults > b.faults; });
  return out;
}

std::vector<StormProcess> CauseTally::processes(const CauseClassifier& cc, size_t n) const {
  std::vector<StormProcess> out;
  for (const auto& [pid, faults] : pids_.map()) {
    StormProcess p{pid, "", 0, faults};
    if (const ProcessInfo* info = cc.process(pid)) {
      p.command = info->command;
      p.parent = info->parent;
    }
    out.push_back(std::move(p));
  }
  std::sort(out.begin(), out.end(), [](const StormProcess& a, const StormProcess& b) {
    return a.faults != b.faults ? a.faults > b.faults : a.pid < b.pid;
  });
  if (out.size() > n) out.resize(n);
  return out;
}

}  // namespace vmatrace
