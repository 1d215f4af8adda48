#include "watch/capture_dir.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <regex>

#include "watch/labels.h"

namespace vmatrace {

Result<CaptureDir> CaptureDir::open(const std::string& path, size_t max_files, uint64_t max_bytes) {
  if (path.empty()) return make_error("--capture-dir: empty path");
  if (mkdir(path.c_str(), 0700) != 0 && errno != EEXIST)
    return make_error("cannot create " + path + ": " + strerror(errno));
  struct stat st;
  if (lstat(path.c_str(), &st) != 0) return make_error("cannot open " + path + ": " + strerror(errno));
  if (!S_ISDIR(st.st_mode)) return make_error(path + " is not a directory");
  if (st.st_uid != geteuid()) return make_error(path + " belongs to another user: captures need a directory of their own");
  if (st.st_mode & (S_IWGRP | S_IWOTH))
    return make_error(path + " is writable by others: captures need a directory only this user can write");
  return CaptureDir(path, max_files, max_bytes);
}

bool CaptureDir::is_capture_name(const std::string& name) {
  static const std::regex pattern(R"(\d{8}T\d{6}\.\d{3}Z-[A-Za-z0-9._-]{1,64}-\d+\.vmt)");
  return std::regex_match(name, pattern);
}

std::string CaptureDir::new_capture_path(const timespec& realtime, const std::string& comm, pid_t pid) const {
  tm t{};
  gmtime_r(&realtime.tv_sec, &t);
  char stamp[32];
  strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%S", &t);
  char ms[24];  // room for any long: gcc's -Wformat-truncation cannot see tv_nsec < 1e9
  snprintf(ms, sizeof(ms), ".%03ldZ", realtime.tv_nsec / 1000000);
  return path_ + "/" + stamp + ms + "-" + file_name_part(comm) + "-" + std::to_string(pid) + ".vmt";
}

std::vector<std::string> CaptureDir::prune(size_t incoming) {
  struct File {
    std::string name;
    uint64_t bytes;
  };
  std::vector<File> files;
  std::unique_ptr<DIR, int (*)(DIR*)> dir(opendir(path_.c_str()), closedir);
  if (!dir) return {};
  int fd = dirfd(dir.get());
  uint64_t total = 0;
  while (dirent* d = readdir(dir.get())) {
    std::string name = d->d_name;
    struct stat st;
    if (!is_capture_name(name) || fstatat(fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
    if (!S_ISREG(st.st_mode) || st.st_uid != geteuid()) continue;
    files.push_back({name, static_cast<uint64_t>(st.st_size)});
    total += static_cast<uint64_t>(st.st_size);
  }
  // The name starts with the UTC time: name order is age order.
  std::sort(files.begin(), files.end(), [](const File& a, const File& b) { return a.name < b.name; });
  std::vector<std::string> removed;
  size_t keep_files = max_files_ > incoming ? max_files_ - incoming : 0;
  for (const File& f : files) {
    if (files.size() - removed.size() <= keep_files && total <= max_bytes_) break;
    if (unlinkat(fd, f.name.c_str(), 0) == 0) {
      removed.push_back(f.name);
      total -= f.bytes;
    }
  }
  return removed;
}

uint64_t CaptureDir::free_bytes() const {
  struct statvfs vfs;
  if (statvfs(path_.c_str(), &vfs) != 0) return 0;
  return static_cast<uint64_t>(vfs.f_bavail) * vfs.f_frsize;
}

}  // namespace vmatrace
