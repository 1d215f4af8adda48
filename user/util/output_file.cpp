#include "util/output_file.h"

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

namespace vmatrace {
namespace {

Error sys_error(const std::string& what, const std::string& path) {
  return make_error(what + " " + path + ": " + strerror(errno));
}

// Why vmatrace will not write over what lstat found at path ("" if it may).
std::string refusal(const std::string& path, const struct stat& st) {
  if (S_ISLNK(st.st_mode)) return path + " is a symbolic link: vmatrace does not write through links";
  if (S_ISDIR(st.st_mode)) return path + " is a directory";
  if (S_ISREG(st.st_mode) && st.st_uid != geteuid())
    return path + " belongs to uid " + std::to_string(st.st_uid) + ": vmatrace replaces only its own user's files";
  if (!S_ISREG(st.st_mode) && !S_ISCHR(st.st_mode) && !S_ISFIFO(st.st_mode))
    return path + " is a " + (S_ISBLK(st.st_mode) ? "block device" : "socket") +
           ": vmatrace writes in place only to character devices and FIFOs";
  return "";
}

bool same_file(const struct stat& a, const struct stat& b) { return a.st_dev == b.st_dev && a.st_ino == b.st_ino; }

// A character device or FIFO, opened where it is; never a file that took its
// place between lstat and open.
Result<int> open_in_place(const std::string& path, const struct stat& seen) {
  int fd = ::open(path.c_str(), O_WRONLY | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC);
  if (fd < 0) return sys_error("cannot open", path);
  struct stat now;
  if (fstat(fd, &now) != 0 || !same_file(now, seen) || (now.st_mode & S_IFMT) != (seen.st_mode & S_IFMT)) {
    ::close(fd);
    return make_error(path + " changed while vmatrace opened it");
  }
  return fd;
}

}  // namespace

Result<OutputFile> OutputFile::open(const std::string& path, const std::string& input) {
  if (path.empty()) return make_error("cannot create an output file with an empty name");
  struct stat st;
  bool exists = ::lstat(path.c_str(), &st) == 0;
  if (!exists && errno != ENOENT) return sys_error("cannot create", path);
  if (exists) {
    if (std::string why = refusal(path, st); !why.empty()) return make_error(why);
    struct stat in;
    if (!input.empty() && ::stat(input.c_str(), &in) == 0 && same_file(st, in))
      return make_error(path + " is the trace being read: give another output");
    if (!S_ISREG(st.st_mode)) {
      auto fd = open_in_place(path, st);
      if (!fd) return make_error(fd.error());
      return OutputFile(*fd, path, "", Mode::InPlace, st.st_dev, st.st_ino);
    }
  }
  // mkostemp: O_EXCL and mode 0600, as the output holds the target's address layout.
  std::string tmp = path + ".tmp-XXXXXX";
  int fd = mkostemp(tmp.data(), O_CLOEXEC);
  if (fd < 0) return sys_error("cannot create", path);
  return OutputFile(fd, path, tmp, exists ? Mode::Replace : Mode::Create, exists ? st.st_dev : 0,
                    exists ? st.st_ino : 0);
}

OutputFile::OutputFile(OutputFile&& o) noexcept
    : fd_(std::exchange(o.fd_, -1)), path_(std::move(o.path_)), tmp_(std::exchange(o.tmp_, "")),
      mode_(o.mode_), dev_(o.dev_), ino_(o.ino_) {}

OutputFile& OutputFile::operator=(OutputFile&& o) noexcept {
  if (this != &o) {
    discard();
    fd_ = std::exchange(o.fd_, -1);
    path_ = std::move(o.path_);
    tmp_ = std::exchange(o.tmp_, "");
    mode_ = o.mode_;
    dev_ = o.dev_;
    ino_ = o.ino_;
  }
  return *this;
}

OutputFile::~OutputFile() { discard(); }

Status OutputFile::write(std::string_view bytes) {
  const char* p = bytes.data();
  size_t left = bytes.size();
  while (left > 0) {
    ssize_t n = ::write(fd_, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return sys_error("writing", path_);
    p += n;
    left -= static_cast<size_t>(n);
  }
  return Ok{};
}

// The temporary file takes PATH: where PATH was free, only if it still is;
// where it was a file to replace, only if it is still that file.
Status OutputFile::rename_into_place() {
  if (mode_ == Mode::Replace) {
    struct stat st;
    if (::lstat(path_.c_str(), &st) == 0) {
      if (st.st_dev != dev_ || st.st_ino != ino_ || !refusal(path_, st).empty())
        return make_error(path_ + " was replaced while vmatrace wrote it: not replacing it");
      if (::rename(tmp_.c_str(), path_.c_str()) != 0) return sys_error("cannot create", path_);
      return Ok{};
    }
    if (errno != ENOENT) return sys_error("cannot create", path_);
  }
  if (::renameat2(AT_FDCWD, tmp_.c_str(), AT_FDCWD, path_.c_str(), RENAME_NOREPLACE) == 0) return Ok{};
  // File systems without RENAME_NOREPLACE: link() refuses an existing name too.
  if (errno == EINVAL && ::link(tmp_.c_str(), path_.c_str()) == 0) {
    ::unlink(tmp_.c_str());
    return Ok{};
  }
  if (errno == EEXIST) return make_error(path_ + " appeared while vmatrace wrote it: not replacing it");
  return sys_error("cannot create", path_);
}

Status OutputFile::publish() {
  if (tmp_.empty()) return Ok{};
  if (auto st = rename_into_place(); !st) return st;
  tmp_.clear();
  return Ok{};
}

Status OutputFile::finish() {
  // Pipes and most character devices have nothing to sync: EINVAL.
  if (::fsync(fd_) != 0 && errno != EINVAL) return sys_error("writing", path_);
  if (auto st = publish(); !st) return st;
  int fd = std::exchange(fd_, -1);
  if (::close(fd) != 0) return sys_error("closing", path_);
  return Ok{};
}

void OutputFile::discard() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  if (!tmp_.empty()) ::unlink(tmp_.c_str());
  tmp_.clear();
}

Status write_output_file(const std::string& path, std::string_view text, const std::string& input) {
  auto out = OutputFile::open(path, input);
  if (!out) return make_error(out.error());
  if (auto st = out->write(text); !st) return st;
  return out->finish();  // on failure the destructor removes the unpublished file
}

}  // namespace vmatrace
