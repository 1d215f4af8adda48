#include "watch/event_log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "util/escape.h"

namespace vmatrace {
namespace {

std::string utc_now() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  tm t{};
  gmtime_r(&ts.tv_sec, &t);
  char buf[40];
  size_t n = strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &t);
  snprintf(buf + n, sizeof(buf) - n, ".%03ldZ", ts.tv_nsec / 1000000);
  return buf;
}

// Appends to path, created 0600 if missing. An existing file must be a
// regular file of ours with one link and no other writer: as root, the watch
// never writes through a file someone else could have planted.
Result<FILE*> open_append(const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return make_error("cannot open " + path + ": " + strerror(errno));
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() || st.st_nlink != 1 ||
      (st.st_mode & (S_IWGRP | S_IWOTH))) {
    close(fd);
    return make_error(path + " is not a regular file of this user's that only it can write");
  }
  FILE* f = fdopen(fd, "a");
  if (!f) {
    close(fd);
    return make_error("cannot open " + path + ": " + strerror(errno));
  }
  return f;
}

}  // namespace

Result<EventLog> EventLog::open(const std::string& path) {
  EventLog log(path);
  if (auto st = log.reopen(); !st) return make_error(st.error());
  return log;
}

EventLog::~EventLog() {
  if (file_) fclose(file_);
}

Status EventLog::reopen() {
  if (path_.empty()) return Ok{};
  auto f = open_append(path_);
  if (!f) return make_error(f.error());
  if (file_) fclose(file_);
  file_ = *f;
  return Ok{};
}

void EventLog::write(const std::string& event, nlohmann::json fields) {
  nlohmann::json line = {{"time", utc_now()}, {"event", event}};
  if (fields.is_object()) line.update(fields);
  // Names come as the kernel's bytes: JSON escapes what could end the line,
  // and a name that is not UTF-8 gets its exact bytes in a NAME_hex twin.
  std::string text = dump_json(line) + "\n";
  fputs(text.c_str(), stdout);
  fflush(stdout);
  if (file_) {
    fputs(text.c_str(), file_);
    fflush(file_);
  }
}

}  // namespace vmatrace
