// What `vmatrace watch` serves on /metrics (Prometheus text format, through
// prometheus-cpp's embedded server, which answers from its own threads).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "util/result.h"
#include "watch/series_table.h"

namespace prometheus {
class Collectable;
class Exposer;
class Registry;
class Counter;
class Gauge;
template <typename T>
class Family;
}  // namespace prometheus

namespace vmatrace {

class WatchMetrics {
 public:
  // Listens on "ADDR:PORT" ("[::1]:PORT" for IPv6); port 0 picks a free one.
  static Result<std::unique_ptr<WatchMetrics>> serve(const std::string& listen);
  ~WatchMetrics();

  int port() const;  // the port actually listened on
  void add_faults(const SeriesKey& key, uint64_t minor, uint64_t major);
  void remove_series(const SeriesKey& key);
  void add_storm(const SeriesKey& key);
  void add_capture();
  void add_capture_failed();
  void add_capture_skipped(const std::string& reason);  // cooldown, busy, disk_full
  // Totals so far, by reason (ringbuf, exit_missed): set, as they come from counters kept elsewhere.
  void set_lost(const std::string& reason, uint64_t total);
  void set_processes(size_t n);
  void set_armed(size_t n);  // flight recorders armed now (--capture-before)
  // The agent itself: CPU seconds, resident and virtual memory, open fds.
  void update_self();
  // Metrics computed at scrape time (the fault latency histogram).
  void serve_too(std::shared_ptr<prometheus::Collectable> c);

 private:
  WatchMetrics() = default;

  std::unique_ptr<prometheus::Exposer> exposer_;
  std::shared_ptr<prometheus::Registry> registry_;
  std::vector<std::shared_ptr<prometheus::Collectable>> collectables_;  // the exposer holds weak pointers
  prometheus::Family<prometheus::Counter>* faults_ = nullptr;
  prometheus::Family<prometheus::Counter>* storms_ = nullptr;
  prometheus::Family<prometheus::Counter>* lost_ = nullptr;
  prometheus::Family<prometheus::Counter>* skipped_ = nullptr;
  prometheus::Counter* captures_ = nullptr;
  prometheus::Counter* captures_failed_ = nullptr;
  prometheus::Counter* cpu_ = nullptr;
  prometheus::Gauge* rss_ = nullptr;
  prometheus::Gauge* vsize_ = nullptr;
  prometheus::Gauge* fds_ = nullptr;
  prometheus::Gauge* processes_ = nullptr;
  prometheus::Gauge* armed_ = nullptr;
  double cpu_seen_ = 0;
};

}  // namespace vmatrace
