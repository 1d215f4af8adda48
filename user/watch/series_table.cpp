#include "watch/series_table.h"

#include <algorithm>

namespace vmatrace {

const SeriesKey& SeriesTable::other() {
  static const SeriesKey k{"other", "other"};
  return k;
}

SeriesTable::SeriesTable(size_t max_series, uint64_t idle_intervals)
    : max_series_(max_series), idle_intervals_(idle_intervals) {}

void SeriesTable::add(const SeriesKey& key, uint64_t minor, uint64_t major) {
  auto& p = pending_[key];
  p.first += minor;
  p.second += major;
}

bool SeriesTable::make_room(std::vector<SeriesKey>* removed) {
  if (series_.size() < max_series_) return true;
  auto idlest = std::min_element(series_.begin(), series_.end(),
                                 [](const auto& a, const auto& b) { return a.second < b.second; });
  if (idlest == series_.end() || idlest->second + idle_intervals_ > interval_) return false;
  removed->push_back(idlest->first);
  series_.erase(idlest);
  return true;
}

void SeriesTable::end_interval(std::vector<SeriesIncrement>* increments, std::vector<SeriesKey>* removed) {
  interval_++;
  std::vector<std::pair<SeriesKey, std::pair<uint64_t, uint64_t>>> busiest(pending_.begin(), pending_.end());
  pending_.clear();
  std::stable_sort(busiest.begin(), busiest.end(), [](const auto& a, const auto& b) {
    return a.second.first + a.second.second > b.second.first + b.second.second;
  });
  SeriesIncrement folded{other(), 0, 0};
  for (auto& [key, n] : busiest) {
    auto it = series_.find(key);
    if (it == series_.end() && !(key == other()) && make_room(removed))
      it = series_.emplace(key, interval_).first;
    if (it == series_.end()) {
      folded.minor += n.first;
      folded.major += n.second;
      continue;
    }
    it->second = interval_;
    increments->push_back({key, n.first, n.second});
  }
  if (folded.minor || folded.major) increments->push_back(folded);
}

const SeriesKey& SeriesTable::shown_as(const SeriesKey& key) const {
  auto it = series_.find(key);
  return it == series_.end() ? other() : it->first;
}

}  // namespace vmatrace
