#include "watch/arming.h"

#include <algorithm>

namespace vmatrace {

ArmedSet::Plan ArmedSet::poll(const std::vector<WarmProcess>& warm, uint64_t now_ns,
                              const std::function<bool(const WarmProcess&)>& may_arm) {
  Plan plan;
  for (auto& [key, a] : armed_) a.rate = 0;
  std::vector<const WarmProcess*> candidates;
  for (const WarmProcess& w : warm) {
    auto it = armed_.find({w.pid, w.start_ticks});
    if (it == armed_.end()) {
      candidates.push_back(&w);
      continue;
    }
    it->second.rate = w.rate;
    it->second.last_warm_ns = now_ns;
  }
  for (auto it = armed_.begin(); it != armed_.end();) {
    if (now_ns - it->second.last_warm_ns < calm_ns_) {
      ++it;
      continue;
    }
    plan.disarm.push_back({it->first, "calm"});
    it = armed_.erase(it);
  }
  std::stable_sort(candidates.begin(), candidates.end(),
                   [](const WarmProcess* a, const WarmProcess* b) { return a->rate > b->rate; });
  size_t planned = armed_.size();
  for (const WarmProcess* w : candidates) {
    if (!may_arm(*w)) continue;
    if (planned >= max_) {
      auto lowest = std::min_element(armed_.begin(), armed_.end(),
                                     [](const auto& a, const auto& b) { return a.second.rate < b.second.rate; });
      // Candidates come busiest first: one that displaces none, none after it will.
      if (lowest == armed_.end() || w->rate <= kDisplaceFactor * lowest->second.rate) break;
      plan.disarm.push_back({lowest->first, "displaced"});
      armed_.erase(lowest);
      planned--;
    }
    plan.arm.push_back(*w);
    planned++;
  }
  return plan;
}

void ArmedSet::add(const ProcKey& k, double rate, uint64_t now_ns) { armed_[k] = {rate, now_ns}; }

void ArmedClock::output_seen(uint64_t now_ns) {
  if (recording_since_) return;
  recording_since_ = now_ns - std::min(now_ns, kFirstOutputNs);
  // Fired before it recorded: its `after` counts from now.
  if (fired_at_ && !stop_at_) stop_at_ = now_ns + after_ns_;
}

double ArmedClock::fire(uint64_t now_ns) {
  if (fired_at_) return 0;
  fired_at_ = now_ns;
  if (!recording_since_) return 0;
  stop_at_ = now_ns + after_ns_;
  return static_cast<double>(std::min(before_ns_, now_ns - *recording_since_)) / 1e9;
}

ArmedClock::Action ArmedClock::tick(uint64_t now_ns) {
  if (fired_at_ && recording_since_ && !signalled_) {
    signalled_ = true;
    return Action::Fire;
  }
  // Never in the same tick as the SIGUSR1: the recorder must see it first.
  if (signalled_ && !stopped_ && stop_at_ && now_ns >= *stop_at_) {
    stopped_ = true;
    return Action::Stop;
  }
  return Action::None;
}

}  // namespace vmatrace
