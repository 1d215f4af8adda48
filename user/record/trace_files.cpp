#include "record/trace_files.h"

#include "events/abi.h"

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace vmatrace {

std::string numbered_name(const std::string& path, unsigned k) {
  return k == 0 ? path : path + "." + std::to_string(k);
}

Status check_rotation_names(const std::string& path, unsigned files) {
  struct stat st;
  if (lstat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode))
    return make_error("--rotate needs a regular file: " + path + " is not one");
  for (unsigned k = 1; k + 1 <= files; k++) {
    std::string name = numbered_name(path, k);
    if (lstat(name.c_str(), &st) == 0)
      return make_error(name + " exists: --rotate " + std::to_string(files) + " would take its name for this " +
                        "recording's files, and vmatrace replaces no file it did not make (move it away)");
  }
  return Ok{};
}

Result<std::unique_ptr<TraceFiles>> TraceFiles::create(const TraceFilesOptions& opts, StartFn start) {
  if (opts.rotate >= 2)
    if (auto st = check_rotation_names(opts.path, opts.rotate); !st) return make_error(st.error());
  std::unique_ptr<TraceFiles> t(new TraceFiles(opts, std::move(start)));
  if (auto st = t->open_file(); !st) return make_error(st.error());
  return t;
}

Status TraceFiles::open_file() {
  auto w = TraceWriter::create(opts_.path);
  if (!w) return make_error(w.error());
  writer_ = std::move(*w);
  writer_->set_limit(opts_.max_bytes);
  return Ok{};
}

Status TraceFiles::write_header(const TraceMeta& meta) { return writer_->write_header(meta); }

TraceFiles::~TraceFiles() {
  while (!made_.empty()) forget_oldest();
}

void TraceFiles::forget_oldest() {
  close(made_.front().fd);
  made_.pop_front();
}

Status TraceFiles::publish() {
  if (auto st = writer_->publish(); !st) return st;
  if (opts_.rotate < 2) return Ok{};
  // The file as written, by its descriptor: not whatever the name holds now.
  struct stat st;
  int fd = fcntl(writer_->fd(), F_DUPFD_CLOEXEC, 0);
  if (fd < 0 || fstat(fd, &st) != 0) {
    if (fd >= 0) close(fd);
    return make_error(std::string("keeping track of the trace file: ") + strerror(errno));
  }
  made_.push_back({fd, st.st_dev, st.st_ino});
  return Ok{};
}

Status TraceFiles::write_event(const Event& e) {
  if (e.kind != Kind::Stats) return writer_->append(e);
  // The counters are the recording's; each file counts from its own start.
  lost_seen_ = e.lost;
  Event s = e;
  s.lost = lost_since(e.lost, lost_base_);
  return writer_->append(s);
}

Status TraceFiles::append(const Event& e) {
  if (ended_) {
    after_limit_++;
    return Ok{};
  }
  if (auto st = write_event(e); !st) return st;
  if (!writer_->full()) {
    track_snapshot(e);
    return Ok{};
  }
  if (opts_.rotate < 2) {
    ended_ = true;
    after_limit_++;
    return Ok{};
  }
  if (auto st = rotate(e.ts); !st) return st;
  if (auto st = write_event(e); !st) return st;
  if (writer_->full()) return make_error("an event does not fit a fresh trace file under --max-size");
  track_snapshot(e);
  return Ok{};
}

void TraceFiles::track_snapshot(const Event& e) {
  if (opts_.rotate < 2) return;
  if (e.kind == Kind::Vma && e.vma.reason == VT_VMA_SNAPSHOT)
    open_snapshots_[e.tid].push_back(e);
  else if (e.kind == Kind::Snapshot)
    open_snapshots_.erase(e.tid);
}

Status TraceFiles::flush() { return writer_->flush(); }

bool TraceFiles::made_here(const std::string& name) const {
  struct stat st;
  if (lstat(name.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return false;
  return std::any_of(made_.begin(), made_.end(),
                     [&](const Made& m) { return m.dev == st.st_dev && m.ino == st.st_ino; });
}

// PATH.(N-2) -> PATH.(N-1), ..., PATH -> PATH.1, dropping PATH.(N-1) first.
// Each step only on a file this recording made, and never onto a name taken.
Status TraceFiles::shift_names() {
  const unsigned last = opts_.rotate - 1;
  std::string oldest = numbered_name(opts_.path, last);
  struct stat st;
  if (lstat(oldest.c_str(), &st) == 0) {
    if (!made_here(oldest)) return make_error(oldest + " is not a file this recording made: not removed");
    if (unlink(oldest.c_str()) != 0) return make_error("cannot remove " + oldest + ": " + strerror(errno));
    forget_oldest();
  }
  for (unsigned k = last; k >= 1; k--) {
    std::string from = numbered_name(opts_.path, k - 1), to = numbered_name(opts_.path, k);
    if (lstat(from.c_str(), &st) != 0) continue;  // fewer files so far
    if (!made_here(from)) return make_error(from + " is not a file this recording made: not renamed");
    if (renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) != 0)
      return make_error("cannot rename " + from + " to " + to + ": " + strerror(errno));
  }
  return Ok{};
}

Status TraceFiles::rotate(uint64_t ts) {
  Status st = writer_->finish(lost_since(lost_seen_, lost_base_));
  bytes_done_ += writer_->bytes_written();
  writer_.reset();
  if (!st) return st;
  if (st = shift_names(); !st) return st;
  FileStart start = start_(ts);
  if (st = open_file(); !st) return st;
  if (st = writer_->write_header(start.meta); !st) return st;
  if (st = publish(); !st) return st;
  lost_base_ = lost_seen_;
  for (const Event& e : start.state)
    if (st = writer_->append(e); !st) return st;
  for (const auto& [tid, records] : open_snapshots_)
    for (const Event& e : records)
      if (st = writer_->append(e); !st) return st;
  if (writer_->full()) return make_error("the VMA set a new trace file starts with does not fit --max-size");
  rotations_++;
  return Ok{};
}

Status TraceFiles::finish(const LostCounts& lost, uint64_t end_ns) {
  Status st = writer_->finish(lost_since(lost, lost_base_), end_ns);
  return st;
}

void TraceFiles::discard() {
  if (writer_) writer_->discard();
}

}  // namespace vmatrace
