// The trace file(s) of a recording under --max-size and --rotate.
//
// Without --rotate the recording's one file ends at the limit: the last chunk
// that fits is whole and the final stats record is written (ended() says the
// recording should stop). With --rotate N the recording goes on in a fresh
// file at PATH, the full one becoming PATH.1, PATH.1 becoming PATH.2, ...
// (logrotate's order: PATH.1 is the newest old one), and the oldest beyond N
// files is removed. Every file is a whole trace on its own (file_start.h).
//
// vmatrace renames and removes only files this recording made (checked by
// device and inode before each step): a PATH.1 .. PATH.(N-1) already there at
// the start is refused by check_rotation_names(), never replaced.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <deque>
#include <map>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "record/file_start.h"
#include "record/trace_file.h"
#include "util/result.h"

namespace vmatrace {

// "PATH" for 0, "PATH.k" for k >= 1.
std::string numbered_name(const std::string& path, unsigned k);
// Fails if rotation over `files` files could meet a file it did not make:
// PATH.1 .. PATH.(files-1) must not exist, nor PATH be anything but a regular file.
Status check_rotation_names(const std::string& path, unsigned files);

struct TraceFilesOptions {
  std::string path;
  uint64_t max_bytes = 0;  // 0: no limit
  unsigned rotate = 0;     // files kept (2 or more: rotation), else the recording ends at the limit
};

class TraceFiles {
 public:
  using StartFn = FileStartFn;
  static Result<std::unique_ptr<TraceFiles>> create(const TraceFilesOptions& opts, StartFn start);

  Status write_header(const TraceMeta& meta);
  Status publish();
  // Rotates first when e does not fit the file; without rotation, once the
  // limit is reached e is only counted (after_limit()).
  Status append(const Event& e);
  Status flush();
  // lost: the recording's counters since it began.
  Status finish(const LostCounts& lost, uint64_t end_ns = 0);
  void discard();

  bool ended() const { return ended_; }
  uint64_t after_limit() const { return after_limit_; }
  uint64_t bytes_written() const { return bytes_done_ + (writer_ ? writer_->bytes_written() : 0); }
  unsigned rotations() const { return rotations_; }
  const std::string& path() const { return opts_.path; }

 private:
  TraceFiles(TraceFilesOptions opts, StartFn start) : opts_(std::move(opts)), start_(std::move(start)) {}
 public:
  ~TraceFiles();
  TraceFiles(const TraceFiles&) = delete;
  TraceFiles& operator=(const TraceFiles&) = delete;

 private:
  Status open_file();
  Status rotate(uint64_t ts);
  Status shift_names();
  bool made_here(const std::string& name) const;
  Status write_event(const Event& e);

  TraceFilesOptions opts_;
  StartFn start_;
  std::unique_ptr<TraceWriter> writer_;
  // The files of this recording still kept, oldest first: each held open
  // (so that its inode number cannot pass to another file while we compare).
  struct Made {
    int fd;
    dev_t dev;
    ino_t ino;
  };
  std::deque<Made> made_;
  void forget_oldest();
  LostCounts lost_seen_;  // the latest Stats record's (cumulative) counters
  LostCounts lost_base_;  // ... as of the current file's start: its records count from there
  // VMA records of snapshots whose closing event has not come yet, by
  // thread: a rotation writes them again in the new file, so that a
  // snapshot never has its records in one file and its end in the next.
  std::map<uint32_t, std::vector<Event>> open_snapshots_;
  void track_snapshot(const Event& e);
  uint64_t bytes_done_ = 0;
  uint64_t after_limit_ = 0;
  unsigned rotations_ = 0;
  bool ended_ = false;
};

}  // namespace vmatrace
