// The watch's JSON lines (storms, captures, errors): to stdout, and appended
// to --events FILE, which SIGHUP reopens (for log rotation).
#pragma once

#include <cstdio>
#include <string>

#include <nlohmann/json.hpp>

#include "util/result.h"

namespace vmatrace {

class EventLog {
 public:
  // path may be "": stdout only.
  static Result<EventLog> open(const std::string& path);
  EventLog(EventLog&& o) noexcept : path_(std::move(o.path_)), file_(o.file_) { o.file_ = nullptr; }
  ~EventLog();

  // Adds "time" (UTC, ISO 8601) and "event", writes one line to each sink.
  // String fields may hold any bytes (see dump_json in util/escape.h).
  void write(const std::string& event, nlohmann::json fields);
  Status reopen();

 private:
  explicit EventLog(std::string path) : path_(std::move(path)) {}
  std::string path_;
  FILE* file_ = nullptr;
};

}  // namespace vmatrace
