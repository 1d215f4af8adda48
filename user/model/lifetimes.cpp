#include "model/lifetimes.h"

#include <algorithm>

namespace vmatrace {

void FaultStats::merge(const FaultStats& o) {
  minor += o.minor;
  major += o.major;
  read += o.read;
  write += o.write;
  exec += o.exec;
  latency.merge(o.latency);
}

uint64_t Lifetimes::add(Lifetime l) {
  window_.push_back(std::move(l));
  if (window_.size() > kWindow) {
    Lifetime& oldest = window_.front();
    if (oldest.ended_ns)
      fold(std::move(oldest));
    else
      open_.emplace(first_id_, std::move(oldest));
    window_.pop_front();
    first_id_++;
  }
  return next_id_++;
}

Lifetime* Lifetimes::find(uint64_t id) {
  if (id >= first_id_) return id < next_id_ ? &window_[id - first_id_] : nullptr;
  auto it = open_.find(id);
  return it == open_.end() ? nullptr : &it->second;
}

void Lifetimes::ended(uint64_t id) {
  if (id >= first_id_) return;
  auto it = open_.find(id);
  if (it == open_.end()) return;
  fold(std::move(it->second));
  open_.erase(it);
}

const Lifetime& Lifetimes::operator[](uint64_t id) const {
  if (id >= first_id_ && id < next_id_) return window_[id - first_id_];
  auto it = open_.find(id);
  if (it != open_.end()) return it->second;
  return placeholder_;
}

void Lifetimes::fold(Lifetime&& l) {
  folded_++;
  if (placeholder_.name.empty()) placeholder_.name = "[folded]";
  auto [it, fresh] = folds_.try_emplace({l.pid, l.name});
  Lifetime& sum = it->second;
  if (fresh) {
    sum = std::move(l);
    sum.folded = 1;
    return;
  }
  sum.info.start = std::min(sum.info.start, l.info.start);
  sum.info.end = std::max(sum.info.end, l.info.end);
  sum.appeared_ns = std::min(sum.appeared_ns, l.appeared_ns);
  sum.ended_ns = std::max(*sum.ended_ns, *l.ended_ns);
  sum.at_start = sum.at_start || l.at_start;
  sum.faults.merge(l.faults);
  sum.folded++;
}

std::vector<const Lifetime*> Lifetimes::all() const {
  std::vector<std::pair<uint64_t, const Lifetime*>> open;
  for (const auto& [id, l] : open_) open.emplace_back(id, &l);
  std::sort(open.begin(), open.end());
  std::vector<const Lifetime*> out;
  out.reserve(open.size() + window_.size() + folds_.size());
  for (const auto& [id, l] : open) out.push_back(l);
  for (const Lifetime& l : window_) out.push_back(&l);
  for (const auto& [key, l] : folds_) out.push_back(&l);
  return out;
}

}  // namespace vmatrace
