// Fault storms: windows where the fault rate rose far above the trace's own
// baseline (found from the fault timeline alone), then tallied as the events
// go by: their fault mix, latency, and which VMAs and code took the faults.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "analysis/analysis.h"
#include "model/model.h"

namespace vmatrace {

class Symbolizer;

// bins: complete faults per bin_ns since the trace start. Storms in time order.
std::vector<Storm> find_storms(const std::vector<uint32_t>& bins, uint64_t bin_ns, const AnalysisOptions& o,
                               double* baseline_rate);

class StormTally {
 public:
  explicit StormTally(std::vector<Storm> storms);  // in time order

  // The storm holding time r (since the trace start), if any.
  std::optional<size_t> storm_at(uint64_t r);
  // Fault e, in storm s, charged to vma (none: outside VMAs); its ip lies in
  // the VMA of lifetime ip_lifetime. model: as of e (it names the VMAs).
  void add(size_t s, const Event& e, const std::optional<VmaSpan>& vma, std::optional<uint64_t> ip_lifetime,
           const Model& model);
  // The storms with their shares (model: after refresh_open_names()), biggest first.
  // VMAs of the same range and name are one share.
  std::vector<Storm> finish(const Model& model, Symbolizer* sym);
  // Lifetimes whose counts are kept on their own (not yet folded by range).
  size_t lifetimes_kept() const { return seen_.size(); }

 private:
  struct IpKey {
    uint64_t lifetime, ip;
    bool operator==(const IpKey& o) const { return lifetime == o.lifetime && ip == o.ip; }
  };
  struct IpHash {
    size_t operator()(const IpKey& k) const { return k.ip * 0x9e3779b97f4a7c15ULL ^ k.lifetime; }
  };
  // A lifetime as it was when a storm first hit it: by the report's end
  // it may have been folded (model/lifetimes.h), its range and name gone.
  struct Seen {
    VmaInfo info;
    std::string name;
  };
  using ShareKey = std::tuple<uint64_t, uint64_t, std::string>;  // start, end, name
  using CodeKey = std::tuple<uint64_t, uint64_t, uint64_t, uint64_t, std::string>;  // ip, start, end, pgoff, name
  struct Tally {
    std::unordered_map<uint64_t, uint64_t> by_lifetime;
    std::unordered_map<IpKey, uint64_t, IpHash> by_ip;  // by (lifetime of the ip's VMA, ip)
    // Counts of lifetimes that had ended, by range and name (fold_ended()).
    std::map<ShareKey, uint64_t> by_range;
    std::map<CodeKey, std::pair<Seen, uint64_t>> by_code_range;  // the code's VMA, faults
    LatencyHistogram latency;
    uint64_t code_outside_vmas = 0;
    // Faults come in runs from one VMA and one instruction: the last counters hit.
    uint64_t last_lifetime = UINT64_MAX, *last_lifetime_count = nullptr;
    IpKey last_ip{UINT64_MAX, 0};
    uint64_t* last_ip_count = nullptr;
  };
  void see(uint64_t lifetime, uint32_t pid, const Model& model);
  Seen last_known(uint64_t lifetime, const Model& model) const;
  // Moves the counts of lifetimes that have ended into by_range and
  // by_code_range, once enough lifetimes may have piled up: what is kept
  // then follows the live VMAs and the ranges, not the churn.
  void fold_ended(const Model& model);

  std::vector<Storm> storms_;
  std::vector<Tally> tallies_;
  std::unordered_map<uint64_t, Seen> seen_;
  size_t at_ = 0;
  size_t fold_at_seen_;
  uint64_t fold_at_lifetimes_ = 0;
};

}  // namespace vmatrace
