// Every file vmatrace writes (-o, report --heatmap/--perfetto/--folded) is
// opened here, by one rule, because vmatrace runs as root and is handed paths
// in directories other users can write to. By what PATH is when it is opened:
//
//  - nothing: a new file, mode 0600, written under a temporary name beside
//    PATH (mkostemp) that takes PATH only at publish(), and only if PATH is
//    still free then (renameat2 RENAME_NOREPLACE): whatever appeared there
//    meanwhile is left alone and publish() fails;
//  - a regular file owned by vmatrace's effective user: replaced the same
//    way, by rename at publish() if it is still that file. Its contents are
//    never written (a hard link to it keeps them);
//  - a character device or a FIFO (/dev/null, a pipe to a reader): written in
//    place, as perf does (the trace format needs no seeking); opening a FIFO
//    waits for its reader, as a shell redirection does;
//  - anything else is refused: a symbolic link (never followed), another
//    user's file, a directory, a block device, a socket, and the input itself
//    (`report T --perfetto T`, or a hard link to T).
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>

#include "util/result.h"

namespace vmatrace {

class OutputFile {
 public:
  // input: a file this output must not be (empty: none).
  static Result<OutputFile> open(const std::string& path, const std::string& input = "");
  OutputFile(OutputFile&& o) noexcept;
  OutputFile& operator=(OutputFile&& o) noexcept;
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;
  ~OutputFile();  // discard()

  Status write(std::string_view bytes);
  // The file takes its name (nothing to do in place).
  Status publish();
  // On disk (fsync where the file has a disk), published, closed.
  Status finish();
  // Closes; an unpublished temporary file is removed: nothing half-written stays.
  void discard();
  const std::string& path() const { return path_; }
  int fd() const { return fd_; }  // -1 once closed

 private:
  enum class Mode { Create, Replace, InPlace };
  OutputFile(int fd, std::string path, std::string tmp, Mode mode, dev_t dev, ino_t ino)
      : fd_(fd), path_(std::move(path)), tmp_(std::move(tmp)), mode_(mode), dev_(dev), ino_(ino) {}
  Status rename_into_place();

  int fd_ = -1;
  std::string path_;
  std::string tmp_;  // the temporary name until published, then empty
  Mode mode_ = Mode::Create;
  dev_t dev_ = 0;  // Replace: the file being replaced
  ino_t ino_ = 0;
};

// The whole of text to path, by the rule above: on any error nothing is left.
Status write_output_file(const std::string& path, std::string_view text, const std::string& input = "");

}  // namespace vmatrace
