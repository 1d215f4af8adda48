#include "analysis/storms.h"

#include <algorithm>
#include <map>
#include <string>

#include "analysis/symbolizer.h"
#include "events/abi.h"

namespace vmatrace {
namespace {

// fold_ended() looks once the lifetimes seen are twice as many as after its
// last look (at least this many): amortised, a fault pays O(1).
constexpr size_t kFoldAtLeast = 1024;

bool has_ended(const Lifetime& l) { return l.ended_ns || l.info.end <= l.info.start; }  // or folded

std::vector<Share> top(std::vector<Share> v, size_t n) {
  std::stable_sort(v.begin(), v.end(), [](const Share& a, const Share& b) { return a.faults > b.faults; });
  if (v.size() > n) v.resize(n);
  return v;
}

}  // namespace

std::vector<Storm> find_storms(const std::vector<uint32_t>& bins, uint64_t bin_ns, const AnalysisOptions& o,
                               double* baseline_rate) {
  const double per_s = 1e9 / static_cast<double>(bin_ns);
  size_t first = 0;
  while (first < bins.size() && bins[first] == 0) first++;
  std::vector<uint32_t> active(bins.begin() + static_cast<long>(first), bins.end());
  *baseline_rate = 0;
  if (active.empty()) return {};
  std::nth_element(active.begin(), active.begin() + static_cast<long>(active.size() / 2), active.end());
  double baseline = active[active.size() / 2];
  *baseline_rate = baseline * per_s;
  double limit = std::max(o.storm_threshold * baseline, o.storm_min_rate / per_s);
  std::vector<Storm> storms;
  std::vector<uint64_t> counts;
  const size_t merge_gap = 10;  // bins: a storm that dips briefly is one storm
  size_t quiet = merge_gap + 1;
  for (size_t i = first; i < bins.size(); i++) {
    if (bins[i] <= limit) {
      quiet++;
      continue;
    }
    if (quiet > merge_gap) {
      storms.emplace_back();
      storms.back().start_ns = i * bin_ns;
      counts.push_back(0);
    }
    Storm& s = storms.back();
    s.end_ns = (i + 1) * bin_ns;
    s.peak_rate = std::max(s.peak_rate, bins[i] * per_s);
    counts.back() += bins[i];
    quiet = 0;
  }
  // A storm starts and ends mid-bin: its edge bins may fall below the limit
  // yet still be well above the baseline. Hysteresis: take in neighbouring
  // bins above twice the baseline (and above 2 faults), up to the next storm,
  // across dips no longer than the merge gap (a stall of the machine).
  const double edge = std::max(2 * baseline, 2.0);
  auto strong = [&](size_t b) { return bins[b] > edge; };
  for (size_t i = 0; i < storms.size(); i++) {
    size_t lo_bin = storms[i].start_ns / bin_ns, hi_bin = storms[i].end_ns / bin_ns;
    size_t floor_bin = i ? storms[i - 1].end_ns / bin_ns : first;
    size_t ceil_bin = i + 1 < storms.size() ? storms[i + 1].start_ns / bin_ns : bins.size();
    for (;;) {  // downwards: the nearest strong bin below, within the gap
      size_t b = lo_bin;
      while (b > floor_bin && lo_bin - b < merge_gap && !strong(b - 1)) b--;
      if (b == floor_bin || !strong(b - 1)) break;
      while (lo_bin >= b) counts[i] += bins[--lo_bin];
    }
    for (;;) {  // upwards, the same
      size_t b = hi_bin;
      while (b < ceil_bin && b - hi_bin < merge_gap && !strong(b)) b++;
      if (b == ceil_bin || !strong(b)) break;
      while (hi_bin <= b) counts[i] += bins[hi_bin++];
    }
    storms[i].start_ns = lo_bin * bin_ns;
    storms[i].end_ns = hi_bin * bin_ns;
  }
  std::vector<Storm> big;
  for (size_t i = 0; i < storms.size(); i++)
    if (counts[i] >= o.storm_min_faults) big.push_back(storms[i]);
  return big;
}

StormTally::StormTally(std::vector<Storm> storms)
    : storms_(std::move(storms)), tallies_(storms_.size()), fold_at_seen_(kFoldAtLeast) {}

std::optional<size_t> StormTally::storm_at(uint64_t r) {
  if (storms_.empty()) return std::nullopt;
  // Storms are in time order; faults nearly so.
  while (at_ > 0 && r < storms_[at_].start_ns) at_--;
  while (at_ + 1 < storms_.size() && r >= storms_[at_].end_ns) at_++;
  if (r >= storms_[at_].start_ns && r < storms_[at_].end_ns) return at_;
  return std::nullopt;
}

void StormTally::see(uint64_t lifetime, uint32_t pid, const Model& model) {
  if (seen_.count(lifetime)) return;
  const Lifetime& l = model.lifetimes()[lifetime];
  // Open now: the VMA is in the model, named as maps names it (an open
  // lifetime's own name is only taken when it ends).
  const AddressSpace* space = model.space_of(pid);
  const Vma* now = space ? space->find(l.info.start) : nullptr;
  std::string name = now && now->lifetime == lifetime ? space->name_of(*now) : l.name;
  seen_[lifetime] = {l.info, std::move(name)};
}

void StormTally::add(size_t i, const Event& e, const std::optional<VmaSpan>& vma,
                     std::optional<uint64_t> ip_lifetime, const Model& model) {
  Storm& s = storms_[i];
  Tally& t = tallies_[i];
  s.faults++;
  (e.fault_flags & VT_FAULT_MAJOR) ? s.major++ : s.minor++;
  if (!(e.fault_flags & VT_FAULT_NO_ENTRY)) t.latency.add(e.latency_ns);
  if (vma) {
    if (vma->lifetime != t.last_lifetime) {
      t.last_lifetime = vma->lifetime;
      t.last_lifetime_count = &t.by_lifetime[vma->lifetime];
      see(vma->lifetime, e.pid, model);
    }
    ++*t.last_lifetime_count;
  }
  if (!ip_lifetime) {
    t.code_outside_vmas++;
  } else {
    IpKey key{*ip_lifetime, e.ip};
    if (!(key == t.last_ip)) {
      t.last_ip = key;
      t.last_ip_count = &t.by_ip[key];
      see(key.lifetime, e.pid, model);
    }
    ++*t.last_ip_count;
  }
  if (seen_.size() >= fold_at_seen_ || model.lifetimes().size() >= fold_at_lifetimes_) fold_ended(model);
}

void StormTally::fold_ended(const Model& model) {
  // Also before the model folds a lifetime (kWindow ids after it), while
  // its range and name at its end are known.
  std::unordered_map<uint64_t, Seen> open;
  for (auto& [id, seen] : seen_)
    if (!has_ended(model.lifetimes()[id])) open.emplace(id, std::move(seen));
  for (Tally& t : tallies_) {
    for (auto it = t.by_lifetime.begin(); it != t.by_lifetime.end();) {
      if (open.count(it->first)) {
        ++it;
        continue;
      }
      Seen v = last_known(it->first, model);
      t.by_range[{v.info.start, v.info.end, v.name}] += it->second;
      it = t.by_lifetime.erase(it);
    }
    for (auto it = t.by_ip.begin(); it != t.by_ip.end();) {
      if (open.count(it->first.lifetime)) {
        ++it;
        continue;
      }
      Seen code = last_known(it->first.lifetime, model);
      auto& [first, n] = t.by_code_range[{it->first.ip, code.info.start, code.info.end, code.info.pgoff, code.name}];
      if (!n) first = std::move(code);
      n += it->second;
      it = t.by_ip.erase(it);
    }
    t.last_lifetime = UINT64_MAX;
    t.last_ip = {UINT64_MAX, 0};
  }
  seen_.swap(open);
  fold_at_seen_ = std::max(kFoldAtLeast, 2 * seen_.size());
  fold_at_lifetimes_ = model.lifetimes().size() + Lifetimes::kWindow / 2;
}

// The lifetime as the model knows it at the end (a heap grown since, the
// name maps gave it last), unless it was folded away: then as first seen.
// (A folded lifetime reads as a placeholder without a range.)
StormTally::Seen StormTally::last_known(uint64_t lifetime, const Model& model) const {
  const Lifetime& l = model.lifetimes()[lifetime];
  const Seen& first = seen_.at(lifetime);
  if (l.info.end == 0) return first;
  return {l.info, l.name.empty() ? first.name : l.name};
}

std::vector<Storm> StormTally::finish(const Model& model, Symbolizer* sym) {
  for (size_t i = 0; i < storms_.size(); i++) {
    Storm& s = storms_[i];
    Tally& t = tallies_[i];
    s.latency = t.latency.percentiles();
    double secs = static_cast<double>(s.end_ns - s.start_ns) / 1e9;
    s.mean_rate = secs > 0 ? static_cast<double>(s.faults) / secs : 0;
    for (const auto& [id, n] : t.by_lifetime) {
      Seen v = last_known(id, model);
      t.by_range[{v.info.start, v.info.end, v.name}] += n;
    }
    // By address (ties go to the lower one).
    std::vector<Share> vmas;
    for (const auto& [key, n] : t.by_range) {
      const auto& [start, end, name] = key;
      vmas.push_back({name.empty() ? "[anon]" : name, start, end, n});
    }
    s.vmas = top(std::move(vmas), 5);
    std::map<std::string, uint64_t> by_symbol;
    for (const auto& [key, n] : t.by_ip) {
      Seen code = last_known(key.lifetime, model);
      by_symbol[sym->symbolize(key.ip, code.info, code.name)] += n;
    }
    for (const auto& [key, code] : t.by_code_range)
      by_symbol[sym->symbolize(std::get<0>(key), code.first.info, code.first.name)] += code.second;
    if (t.code_outside_vmas) by_symbol["[unknown]"] += t.code_outside_vmas;
    std::vector<Share> code;
    for (const auto& [name, n] : by_symbol) code.push_back({name, 0, 0, n});
    s.code = top(std::move(code), 5);
  }
  std::stable_sort(storms_.begin(), storms_.end(), [](const Storm& x, const Storm& y) { return x.faults > y.faults; });
  return storms_;
}

}  // namespace vmatrace
