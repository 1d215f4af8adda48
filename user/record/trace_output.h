// Where a recording's events go when it records to a file: one trace file
// (optionally ended at --max-size), rotating files (--rotate), or the flight
// recorder's ring (--flight) dumped on exit, on SIGUSR1 and on a storm
// (--trigger storm, --after). The recorder hands it every event before its
// VMA model applies it, so that a file or chunk starting at any event can
// take the model's VMA set as its beginning (file_start.h).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "record/file_start.h"
#include "record/flight_ring.h"
#include "record/trace_files.h"

namespace vmatrace {

// What --trigger storm listens to: the events as they go by, then the
// latest storm up to now. The rule is the report's (analysis/storm_watch.h,
// given by cli/: record/ sits below analysis/).
class StormSignal {
 public:
  struct Span {
    uint64_t start_ns, end_ns;  // CLOCK_MONOTONIC
  };
  virtual ~StormSignal() = default;
  virtual void add(const Event& e) = 0;
  virtual std::optional<Span> latest_storm(uint64_t now) = 0;
};

struct TraceOutputOptions {
  std::string path;
  uint64_t max_size = 0;
  unsigned rotate = 0;
  uint64_t flight_ns = 0;   // 0: record everything to path
  bool trigger_storm = false;
  uint64_t after_ns = 0;    // with trigger_storm: recorded after the storm began before the dump
};

// Flight dumps take PATH, then PATH.2, PATH.3, ... in the order written;
// a name taken by a file this recording did not write is skipped, never
// replaced (the dump goes to the next free number).
std::string flight_dump_name(const std::string& path, unsigned nth);

class TraceOutput {
 public:
  // storms: required with opts.trigger_storm.
  static Result<std::unique_ptr<TraceOutput>> create(const TraceOutputOptions& opts, FileStartFn start,
                                                     std::unique_ptr<StormSignal> storms = nullptr);

  // The header (a flight recording writes its own per dump).
  Status begin(const TraceMeta& meta);
  Status publish();
  Status append(const Event& e);
  // Once a second: buffered records become a chunk (a file) or the ring
  // drops what fell out of the window (flight).
  Status flush(uint64_t now, const LostCounts& lost);
  // After every poll: writes the dumps due (SIGUSR1 asked, a storm's
  // after-time passed). A dump asked for is written after the next poll: by
  // then every event the kernel made before the request has been read.
  Status poll(uint64_t now, const LostCounts& lost);
  void request_dump() { dump_requested_ = true; }
  // The end: the file's final stats record, or the exit dump.
  Status finish(uint64_t now, const LostCounts& lost);
  void discard();

  bool ended() const { return files_ && files_->ended(); }  // --max-size reached, no rotation
  // What was written, for the recorder's last line.
  std::string written() const;

 private:
  TraceOutput(TraceOutputOptions opts) : opts_(std::move(opts)) {}
  Status dump(uint64_t from, uint64_t now, const LostCounts& lost, const char* trigger);

  TraceOutputOptions opts_;
  std::unique_ptr<TraceFiles> files_;
  std::unique_ptr<FlightRing> ring_;
  bool dump_requested_ = false;
  bool dump_armed_ = false;  // asked for before the last poll: due at this one
  std::unique_ptr<StormSignal> storms_;  // --trigger storm
  std::optional<uint64_t> storm_dump_at_, storm_from_;
  uint64_t storm_covered_ = 0;  // the end of the last storm a dump was made for (0: none)
  unsigned dumps_ = 0;
  uint64_t dump_bytes_ = 0;
  std::string last_dump_;
};

}  // namespace vmatrace
