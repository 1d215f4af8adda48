// The directory storm captures go to, kept within a number of files and of
// bytes by removing the oldest first. Only files the watch made are ever
// removed: those named as it names them (TIME-COMM-PID.vmt, regular files
// owned by this user), from this run or an earlier one.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <ctime>
#include <string>
#include <vector>

#include "util/result.h"

namespace vmatrace {

class CaptureDir {
 public:
  // Creates path (mode 0700) if missing. An existing directory must be ours
  // and writable by nobody else: the watch, as root, deletes files in it.
  static Result<CaptureDir> open(const std::string& path, size_t max_files, uint64_t max_bytes);

  // "20250102T030405.678Z-COMM-PID.vmt" in the directory.
  std::string new_capture_path(const timespec& realtime, const std::string& comm, pid_t pid) const;
  // Removes the oldest captures until `incoming` more files fit; returns the names removed.
  std::vector<std::string> prune(size_t incoming = 0);
  // Bytes this user may still write on the directory's filesystem.
  uint64_t free_bytes() const;
  const std::string& path() const { return path_; }

  // Whether name is one the watch gives its captures.
  static bool is_capture_name(const std::string& name);

 private:
  CaptureDir(std::string path, size_t max_files, uint64_t max_bytes)
      : path_(std::move(path)), max_files_(max_files), max_bytes_(max_bytes) {}

  std::string path_;
  size_t max_files_;
  uint64_t max_bytes_;
};

}  // namespace vmatrace
