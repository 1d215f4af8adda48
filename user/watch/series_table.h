// Bounded label sets: faults go to one series per (comm, cgroup) for at most
// max_series pairs, the busiest; the rest fold into comm="other". A series,
// once shown, keeps counting (counters stay monotonic) until it has been idle
// long enough to give its place to a busier pair.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace vmatrace {

struct SeriesKey {
  std::string comm, cgroup;  // as printed in labels
  bool operator<(const SeriesKey& o) const { return std::tie(comm, cgroup) < std::tie(o.comm, o.cgroup); }
  bool operator==(const SeriesKey& o) const { return comm == o.comm && cgroup == o.cgroup; }
};

struct SeriesIncrement {
  SeriesKey key;
  uint64_t minor = 0, major = 0;
};

class SeriesTable {
 public:
  static const SeriesKey& other();

  SeriesTable(size_t max_series, uint64_t idle_intervals);

  // Faults of the current interval, held until end_interval().
  void add(const SeriesKey& key, uint64_t minor, uint64_t major);
  // Places this interval's pairs, busiest first: into their series, a free
  // slot, the slot of a series idle for idle_intervals, or else "other".
  // Appends the increments to apply and the series that went away.
  void end_interval(std::vector<SeriesIncrement>* increments, std::vector<SeriesKey>* removed);
  // The series a pair's faults are shown under now.
  const SeriesKey& shown_as(const SeriesKey& key) const;
  size_t size() const { return series_.size(); }

 private:
  bool make_room(std::vector<SeriesKey>* removed);

  size_t max_series_;
  uint64_t idle_intervals_;
  uint64_t interval_ = 0;
  std::map<SeriesKey, uint64_t> series_;  // -> last interval with faults
  std::map<SeriesKey, std::pair<uint64_t, uint64_t>> pending_;  // minor, major
};

}  // namespace vmatrace
